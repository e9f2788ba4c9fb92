"""The chunk loop both trainers share: at most n steps, a time box, and a stop on divergence.

A trainer here is anything with ``status`` ("ok" while it may go on), ``history`` (a list its
records are appended to) and ``_one_step()`` (one optimiser step, returning its record or raising
``Divergence``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class Divergence(RuntimeError):
    """Training cannot continue; the message says why in words a student understands."""


def run_steps(trainer: Any, n: int, max_seconds: float | None, stop: Callable[[str], None]) -> list:
    """Run up to n of ``trainer``'s steps; fewer if ``max_seconds`` runs out (checked after at
    least one step) or a step raises ``Divergence``, which calls ``stop(reason)`` and ends the
    chunk. Returns the records of the steps taken; they are also appended to ``history``."""
    records: list = []
    start = time.perf_counter()
    for _ in range(int(n)):
        if trainer.status != "ok":
            break
        if max_seconds is not None and records and time.perf_counter() - start > max_seconds:
            break
        try:
            record = trainer._one_step()
        except Divergence as err:
            stop(str(err))
            break
        records.append(record)
        trainer.history.append(record)
    return records
