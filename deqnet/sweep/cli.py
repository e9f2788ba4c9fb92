"""``python -m deqnet.sweep SPEC.json --out RESULTS.parquet``: a big sweep from the command line.

SPEC.json holds the base configs and the grid, e.g.::

    {"data": {"name": "moons", "n": 256}, "model": {"family": "node", "steps": 5},
     "train": {"lr": 0.01}, "grid": {"lr": [0.003, 0.01], "seed": [0, 1, 2]}, "steps": 100}

Every finished chunk's cells go to the journal RESULTS.parquet.journal.jsonl at once (see
journal.py), so Ctrl-C or a crash loses no finished cell and ``--resume`` goes on from there; at
the end the results file is written (results_file.py) and the journal removed. A bad spec is
refused with one line and exit code 2; Ctrl-C exits with 130.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import torch

from deqnet.config import LIMITS, ConfigError, RunConfig
from deqnet.datasets import DatasetError
from deqnet.sweep.executors import Executor, as_executor
from deqnet.sweep.grid import CellSpec, expand_grid, validate_grid
from deqnet.sweep.journal import Journal, JournalError, cell_record
from deqnet.sweep.plan import CHUNK_CELLS, Chunk, plan_chunks
from deqnet.sweep.results_file import FORMAT, histories_path, write_histories, write_results

# Caps of the command line (the shared web server keeps SWEEP_CAPS): the cells' configs are
# held in memory, about 2 kB each.
CLI_CAPS = {"values_per_axis": 1000, "cells": 100_000}
SECTIONS = ("data", "model", "train")
LOG_SECONDS = 10.0  # progress lines into a file or pipe: at most one per this many seconds
DRAW_SECONDS = 0.2  # redraws of the progress line on a terminal


class SpecError(Exception):
    """The spec file cannot be used; the message is one line for the user."""


@dataclass(frozen=True)
class Spec:
    """A validated spec: the base run (its ``train.train_steps`` is ``steps``), grid, steps."""

    run: RunConfig
    grid: dict[str, tuple[Any, ...]]
    steps: int

    def to_dict(self) -> dict[str, Any]:
        """The spec as JSON values, in a fixed key order (the digest and the file metadata)."""
        grid = {name: list(values) for name, values in self.grid.items()}
        return {**self.run.to_dict(), "grid": grid, "steps": self.steps}

    def digest(self, chunk_cells: int) -> str:
        """Identifies the numbers a run will produce: the spec and the chunking."""
        text = json.dumps({"spec": self.to_dict(), "chunk_cells": chunk_cells})
        return hashlib.sha256(text.encode()).hexdigest()


def parse_spec(raw: Any) -> Spec:
    """Check a spec's JSON value; raises SpecError with a one-line reason."""
    if not isinstance(raw, dict):
        raise SpecError("a spec is a JSON object with data, model, train, grid and steps")
    unknown = sorted(set(raw) - {*SECTIONS, "grid", "steps"})
    if unknown:
        raise SpecError(f"unknown spec keys {unknown}; allowed data, model, train, grid, steps")
    for key in ("grid", "steps"):
        if key not in raw:
            raise SpecError(f"the spec needs {key!r}")
    for section in SECTIONS:
        if not isinstance(raw.get(section, {}), dict):
            raise SpecError(f"{section} must be an object of settings, got {raw[section]!r}")
    steps, (low, high) = raw["steps"], LIMITS["train_steps"]
    if isinstance(steps, bool) or not isinstance(steps, int) or not low <= steps <= high:
        raise SpecError(f"steps must be an integer from {low} to {high}, got {steps!r}")
    try:
        run = RunConfig.from_dict({s: raw.get(s, {}) for s in SECTIONS})
        run = RunConfig(run.data, run.model, run.train.replace(train_steps=steps))
        grid = validate_grid(raw["grid"], CLI_CAPS)
    except (ConfigError, DatasetError) as err:
        raise SpecError(str(err)) from None
    return Spec(run, grid, steps)


def load_spec(path: Path) -> Spec:
    """Read and check a spec file; raises SpecError."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise SpecError(f"cannot read it ({err})") from None
    except json.JSONDecodeError as err:
        raise SpecError(f"not JSON ({err})") from None
    return parse_spec(raw)


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class ProgressBar:
    """Cells done and an estimate of the time left, on ``stream`` (stderr).

    On a terminal one line is redrawn; into a file or pipe a line is written every
    ``LOG_SECONDS``. The estimate extrapolates this run's cell-steps per second.

    Args:
        cells: cells of the whole sweep; resumed: cells already in the journal; steps: per cell.
    """

    def __init__(self, stream: TextIO, cells: int, resumed: int, steps: int) -> None:
        self.stream, self.cells, self.resumed, self.steps = stream, cells, resumed, steps
        self.done_cells, self.work, self.total_work = resumed, 0, 0
        self.start = self.drawn = time.perf_counter()
        self.terminal = stream.isatty()

    def on_work(self, done: int, total: int) -> None:
        """The executor's progress: cell-steps done and submitted in this run."""
        self.work, self.total_work = done, total
        self.draw()

    def on_cells(self, done: int) -> None:
        self.done_cells = done
        self.draw()

    def line(self) -> str:
        elapsed = time.perf_counter() - self.start
        fraction = min(1.0, (self.resumed + self.work / self.steps) / max(self.cells, 1))
        bar = "#" * int(20 * fraction)
        text = f"[{bar:-<20}] {self.done_cells}/{self.cells} cells {fraction:4.0%}"
        text += f"  {_duration(elapsed)} elapsed"
        if 0 < self.work < self.total_work:
            left = elapsed * (self.total_work - self.work) / self.work
            text += f", about {_duration(left)} left"
        return text

    def draw(self, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self.drawn < (DRAW_SECONDS if self.terminal else LOG_SECONDS):
            return
        self.drawn = now
        if self.terminal:
            self.stream.write("\r" + self.line() + "\x1b[K")
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def finish(self) -> None:
        self.draw(force=True)
        if self.terminal:
            self.stream.write("\n")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m deqnet.sweep",
        description="Train every cell of a sweep spec (JSON) and write the results as Parquet.",
    )
    parser.add_argument("spec", type=Path, help="SPEC.json: data, model, train, grid, steps")
    parser.add_argument("--out", type=Path, required=True, help="RESULTS.parquet to write")
    parser.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="local: this process (default); ray: joins RAY_ADDRESS or starts a local cluster",
    )
    parser.add_argument(
        "--resume", action="store_true", help="go on from the journal of an interrupted run"
    )
    parser.add_argument(
        "--chunk-cells",
        type=_positive,
        default=CHUNK_CELLS,
        metavar="K",
        help=f"cells trained as one stack at most (default {CHUNK_CELLS}); changes the bits",
    )
    parser.add_argument(
        "--histories",
        action="store_true",
        help="also write every step's loss and accuracies to RESULTS.histories.parquet",
    )
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _fail(message: str, code: int) -> int:
    print(f"deqnet.sweep: error: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 done, 2 refused, 130 interrupted)."""
    args = _parser().parse_args(argv)
    try:
        spec = load_spec(args.spec)
        specs = expand_grid(spec.run.data, spec.run.model, spec.run.train, spec.grid)
    except (SpecError, ConfigError, DatasetError) as err:
        return _fail(f"{args.spec}: {err}", 2)
    chunks = plan_chunks(specs, args.chunk_cells)
    header = {
        "digest": spec.digest(args.chunk_cells),
        "cells": len(specs),
        "histories": args.histories,
    }
    try:
        journal = Journal(args.out.with_name(args.out.name + ".journal.jsonl"), header, args.resume)
    except (JournalError, OSError) as err:
        return _fail(str(err), 2)
    try:
        todo = [c for c in chunks if not set(c.cells) <= journal.records.keys()]
        if todo:
            try:
                executor = as_executor(args.executor)
            except ImportError:
                return _fail("--executor ray needs Ray: pip install -r requirements-ray.txt", 2)
            bar = ProgressBar(sys.stderr, len(specs), len(journal.records), spec.steps)
            train_into(journal, executor, specs, todo, spec.steps, args.histories, bar)
    except KeyboardInterrupt:
        print(
            f"deqnet.sweep: interrupted; {len(journal.records)} of {len(specs)} cells are in "
            f"{journal.path}: run the same command with --resume to go on",
            file=sys.stderr,
        )
        return 130
    finally:
        journal.close()
    if len(journal.records) < len(specs):  # the executor was cancelled from elsewhere
        return _fail(f"cancelled; finished cells are in {journal.path} (--resume)", 1)
    meta = {
        "format": FORMAT,
        "grid": {name: list(values) for name, values in spec.grid.items()},
        "steps": spec.steps,
        "spec": spec.to_dict(),
        "chunk_cells": args.chunk_cells,
        "digest": header["digest"],
        "torch_version": torch.__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }
    records = [journal.records[i] for i in range(len(specs))]
    write_results(args.out, meta, specs, records)
    if args.histories:
        write_histories(histories_path(args.out), meta, records)
    journal.path.unlink()
    print(f"deqnet.sweep: wrote {len(records)} cells to {args.out}", file=sys.stderr)
    return 0


def train_into(
    journal: Journal,
    executor: Executor,
    specs: Sequence[CellSpec],
    chunks: Sequence[Chunk],
    steps: int,
    histories: bool,
    bar: ProgressBar | None = None,
) -> None:
    """Train ``chunks`` and journal each one's new cells as it arrives (whole chunks at once).

    A chunk partly in the journal (a crash while writing it) is trained whole again, because
    its cells' numbers depend on the stack they train in; only its missing cells are written.
    Any exception (Ctrl-C included) cancels the executor and passes on; the journal then holds
    every chunk that finished.
    """
    try:
        executor.submit(specs, chunks, steps, torch.float32)
        for result in executor.results(None if bar is None else bar.on_work):
            new = [o for o in result.outcomes if o.cell not in journal.records]
            journal.append(cell_record(o, result.chunk.index, histories) for o in new)
            if bar is not None:
                bar.on_cells(len(journal.records))
    except BaseException:
        executor.cancel()
        raise
    finally:
        if bar is not None:
            bar.finish()
