"""Who trains a sweep's chunks: this process (``LocalExecutor``) or a Ray cluster (``RayExecutor``).

Every executor has the same narrow interface (``Executor``): submit chunks, receive each finished
chunk's per-cell outcomes as it arrives, read progress in cell-steps, cancel. All of them train a
chunk with the same function (``train_chunk`` -> ``run_chunk``), and the chunks come from
``plan_chunks``, which depends on the cells only: so any executor returns the same numbers, cell
for cell. Ray lives in ``ray_executor.py`` and is imported only when a Ray executor is asked for.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import torch

from deqnet.config import ConfigError
from deqnet.sweep.grid import CellSpec
from deqnet.sweep.job import CellOutcome, run_chunk
from deqnet.sweep.plan import Chunk

# progress(cell_steps_done, cell_steps_total) of everything submitted so far.
Progress = Callable[[int, int], None]


@dataclass(frozen=True, eq=False)
class ChunkResult:
    """One trained chunk, as it comes back from whatever process trained it.

    Attributes:
        chunk: the chunk (its index and cells in the plan).
        outcomes: one per cell, in ``chunk.cells`` order.
        seconds: wall time of ``run_chunk`` there (building, training, final evaluation).
        cpu_seconds: CPU time the training process spent on its training steps.
    """

    chunk: Chunk
    outcomes: list[CellOutcome]
    seconds: float
    cpu_seconds: float


def train_chunk(
    specs: Sequence[CellSpec],
    chunk: Chunk,
    steps: int,
    dtype: torch.dtype,
    progress: Callable[[int], None] | None = None,
) -> ChunkResult:
    """Train one chunk; ``specs`` are its cells' specs (``len(specs) == len(chunk.cells)``).

    ``progress`` gets the chunk's cell-steps done after each stacked step.
    """
    wall = time.perf_counter()
    outcomes = run_chunk(specs, chunk.cells, steps, dtype, progress)
    cpu = sum(outcome.cpu_seconds for outcome in outcomes)
    return ChunkResult(chunk, outcomes, time.perf_counter() - wall, cpu)


class Executor(Protocol):
    """Runs chunks somewhere and hands back each one's outcomes once, as it finishes."""

    def submit(
        self, specs: Sequence[CellSpec], chunks: Sequence[Chunk], steps: int, dtype: torch.dtype
    ) -> None:
        """Queue ``chunks`` (their ``cells`` index into ``specs``) for ``steps`` steps each."""

    def results(self, progress: Progress | None = None) -> Iterator[ChunkResult]:
        """Each queued chunk's result once, as it finishes (any order), until none is left or
        the executor was cancelled. ``progress`` is called as cell-steps get done."""

    @property
    def progress(self) -> tuple[int, int]:
        """(cell-steps done, cell-steps submitted)."""

    def cancel(self) -> None:
        """Queued chunks never start and running ones stop; results already handed out stay.
        Safe to call from a callback or from another thread."""


class _Cancelled(Exception):
    """Raised inside a local chunk's step loop to abandon it."""


class LocalExecutor:
    """Trains the chunks one after another in this process, in plan order (the default).

    Progress is reported after every stacked step; an exception raised by the progress
    callback (a Stop button, a time limit) leaves through ``results`` at once.
    """

    def __init__(self) -> None:
        self._queue: deque[tuple[list[CellSpec], Chunk, int, torch.dtype]] = deque()
        self._done = self._total = 0
        self._cancelled = False

    def submit(
        self, specs: Sequence[CellSpec], chunks: Sequence[Chunk], steps: int, dtype: torch.dtype
    ) -> None:
        for chunk in chunks:
            self._queue.append(([specs[i] for i in chunk.cells], chunk, steps, dtype))
            self._total += steps * len(chunk.cells)

    @property
    def progress(self) -> tuple[int, int]:
        return self._done, self._total

    def cancel(self) -> None:
        self._cancelled = True

    def results(self, progress: Progress | None = None) -> Iterator[ChunkResult]:
        while self._queue and not self._cancelled:
            specs, chunk, steps, dtype = self._queue.popleft()
            before = self._done

            def step_done(cell_steps: int, before: int = before) -> None:
                if self._cancelled:
                    raise _Cancelled
                self._done = before + cell_steps
                if progress is not None:
                    progress(*self.progress)

            try:
                result = train_chunk(specs, chunk, steps, dtype, step_done)
            except _Cancelled:
                break
            yield result
        self._queue.clear()


def as_executor(executor: str | Executor | None) -> Executor:
    """``None`` or "local" -> a new LocalExecutor, "ray" -> a new RayExecutor (joins
    ``RAY_ADDRESS`` or starts a local cluster), an executor -> itself."""
    if executor is None or executor == "local":
        return LocalExecutor()
    if executor == "ray":
        from deqnet.sweep.ray_executor import RayExecutor

        return RayExecutor()
    if isinstance(executor, str):
        raise ConfigError(f"unknown executor {executor!r}; choose local or ray")
    return executor
