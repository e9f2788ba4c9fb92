"""The command line's journal: one JSON line per finished cell, so a crash loses no finished cell.

Line 1 is a header naming the spec it belongs to (its digest); every further line is one cell's
record (``cell_record``). Each chunk's lines are written, flushed and fsynced together, so after
Ctrl-C, a crash or a killed machine the file holds whole chunks, plus at most one cut-off last
line, which resuming drops (and truncates) before appending.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from deqnet.sweep.job import CellOutcome

KIND = "deqnet-sweep-journal"
FORMAT = 1
METRICS = ("train_acc", "test_acc", "train_loss", "test_loss")


class JournalError(Exception):
    """The journal cannot be used: another spec's, or not a journal; the message says which."""


def cell_record(outcome: CellOutcome, chunk: int, histories: bool) -> dict[str, Any]:
    """A cell's journal line: what the results file needs (no weights). ``history`` holds
    [step, loss, train_acc, test_acc] per step, only when ``histories`` is on."""
    record: dict[str, Any] = {
        "cell": outcome.cell,
        "chunk": chunk,
        "status": outcome.status,
        "message": outcome.message,
        "nfe": outcome.nfe,
        "seconds": outcome.seconds,
        "metrics": {name: outcome.metrics[name] for name in METRICS},
    }
    if histories:
        record["history"] = [[r.step, r.loss, r.train_acc, r.test_acc] for r in outcome.history]
    return record


class Journal:
    """An open journal: ``records`` (cell -> record) already in it, ``append`` adds a chunk's.

    Args:
        path: the journal file.
        header: what identifies the run: {"digest": ..., "cells": ..., "histories": ...}.
        resume: continue an existing journal with the same header (else start a new one).
    """

    def __init__(self, path: Path, header: dict[str, Any], resume: bool) -> None:
        self.path = path
        self.header = {"kind": KIND, "format": FORMAT, **header}
        self.records: dict[int, dict[str, Any]] = {}
        if resume and path.exists():
            self._read()
            self._file = path.open("a", encoding="utf-8")
        else:
            if path.exists():
                raise JournalError(
                    f"{path} exists (an interrupted run): pass --resume to continue it, "
                    "or delete it to start again"
                )
            self._file = path.open("x", encoding="utf-8")
            self.append([self.header])

    def append(self, records: Iterable[dict[str, Any]]) -> None:
        """Write whole lines, then flush and fsync: they survive a crash from here on."""
        records = list(records)
        self._file.write("".join(json.dumps(record) + "\n" for record in records))
        self._file.flush()
        os.fsync(self._file.fileno())
        self.records.update((r["cell"], r) for r in records if "cell" in r)

    def close(self) -> None:
        self._file.close()

    def _read(self) -> None:
        raw = self.path.read_bytes()
        whole = raw[: raw.rfind(b"\n") + 1]
        if len(whole) < len(raw):  # a line cut off by a crash: drop it before appending
            with self.path.open("r+b") as file:
                file.truncate(len(whole))
        lines = whole.decode("utf-8", errors="replace").splitlines()
        try:
            header = json.loads(lines[0]) if lines else None
        except json.JSONDecodeError:
            header = None
        if not isinstance(header, dict) or header.get("kind") != KIND:
            raise JournalError(f"{self.path} is not a deqnet sweep journal")
        for key in ("format", "digest", "cells"):
            if header.get(key) != self.header[key]:
                raise JournalError(
                    f"{self.path} belongs to another spec or --chunk-cells ({key} differs): "
                    "use another --out, or delete the journal to start again"
                )
        if header.get("histories") != self.header["histories"]:
            flag = "with" if header.get("histories") else "without"
            raise JournalError(f"{self.path} was written {flag} --histories: resume the same way")
        for number, line in enumerate(lines[1:], start=2):
            record = _parsed(line)
            if record is None or not 0 <= record["cell"] < self.header["cells"]:
                raise JournalError(f"{self.path}, line {number}: not a cell record")
            self.records[record["cell"]] = record


def _parsed(line: str) -> dict[str, Any] | None:
    """A cell record from a journal line, or None if the line is not one."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None
    keys = {"cell", "chunk", "status", "message", "nfe", "seconds", "metrics"}
    if not isinstance(record, dict) or not keys <= set(record):
        return None
    if not isinstance(record["cell"], int) or not isinstance(record["metrics"], dict):
        return None
    return record
