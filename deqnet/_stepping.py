"""What both trainers share: the chunk loop (at most n steps, a time box, a stop on divergence)
and ``twin``, the copy a session trains when a trained model comes from the shared cache.

A trainer here is anything with ``status`` ("ok" while it may go on), ``history`` (a list its
records are appended to) and ``_one_step()`` (one optimiser step, returning its record or raising
``Divergence``).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any, TypeVar


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


Twin = TypeVar("Twin")


def twin(trainer: Twin) -> Twin:
    """An independent deep copy of a trainer (model, optimiser state, batch generator, history,
    last-good snapshot) that shares its dataset and input tensors, which are never written."""
    keep = [getattr(trainer, name) for name in ("data", "x_train", "y_train", "x_test", "y_test")]
    return copy.deepcopy(trainer, {id(item): item for item in keep})
