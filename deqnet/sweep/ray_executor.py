"""``RayExecutor``: one Ray core task per chunk. The only module that imports Ray, and lazily.

The cluster comes from the environment only (``RAY_ADDRESS``), never from an argument, so a web
page cannot point a server at another machine; without it a private local cluster starts (usage
statistics off, no dashboard). Chunks are submitted largest first, so the long ones don't set the
wall time at the end; each task takes one CPU (deqnet runs torch on one thread). A worker that
dies is retried by Ray (its chunk is trained again from the start, the same numbers), and cancel
drops the outstanding tasks while finished chunks stay.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from deqnet.sweep.executors import ChunkResult, Progress, train_chunk
from deqnet.sweep.grid import CellSpec
from deqnet.sweep.plan import Chunk

# Test-only (tests/test_sweep_ray.py kills a worker mid-chunk): while this variable names an
# existing directory, each chunk task writes "<pid>.pid" there and sleeps before training.
TEST_PAUSE_VARIABLE = "DEQNET_TEST_CHUNK_PAUSE"
TEST_PAUSE_SECONDS = 0.5
# Ray's default, written out: a chunk whose worker dies is run again up to this many times.
MAX_RETRIES = 3
WAIT_SECONDS = 0.25  # how long results() waits for a chunk before reporting progress


def _chunk_task(
    specs: Sequence[CellSpec], chunk: Chunk, steps: int, dtype: torch.dtype
) -> ChunkResult:
    """What a Ray worker runs: ``train_chunk`` (plus the test hook's pause)."""
    pause_dir = Path(os.environ.get(TEST_PAUSE_VARIABLE) or "/nonexistent")
    if pause_dir.is_dir():
        (pause_dir / f"{os.getpid()}.pid").write_text(str(os.getpid()))
        time.sleep(TEST_PAUSE_SECONDS)
    return train_chunk(specs, chunk, steps, dtype)


def connect(num_cpus: int | None = None) -> None:
    """Join the cluster at ``RAY_ADDRESS``, or start a local one with ``num_cpus`` workers (all
    cores when None); nothing if this process is connected already."""
    import ray

    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    quiet: dict[str, Any] = {"log_to_driver": False, "logging_level": "warning"}
    address = os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, **quiet)
    else:
        # "local", not None: None would join whatever cluster this machine started last.
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, **quiet)


class RayExecutor:
    """Trains chunks as Ray tasks and streams each finished chunk back (see ``Executor``).

    Args:
        num_cpus: workers of a local cluster this executor starts (ignored when joining one).
        runtime_env: Ray runtime environment of the tasks, e.g. ``{"env_vars":
            {"ATEN_CPU_CAPABILITY": "avx2"}}`` for bit-identical results across unlike nodes.
    """

    def __init__(
        self, *, num_cpus: int | None = None, runtime_env: Mapping[str, Any] | None = None
    ) -> None:
        import ray

        connect(num_cpus)
        self._ray = ray
        options: dict[str, Any] = {"num_cpus": 1, "max_retries": MAX_RETRIES}
        if runtime_env is not None:
            options["runtime_env"] = dict(runtime_env)
        self._task = ray.remote(_chunk_task).options(**options)
        self._pending: dict[Any, int] = {}  # ObjectRef -> the chunk's cell-steps
        self._done = self._total = 0

    def submit(
        self, specs: Sequence[CellSpec], chunks: Sequence[Chunk], steps: int, dtype: torch.dtype
    ) -> None:
        for chunk in sorted(chunks, key=lambda c: (-c.cost, c.index)):
            ref = self._task.remote([specs[i] for i in chunk.cells], chunk, steps, dtype)
            self._pending[ref] = steps * len(chunk.cells)
            self._total += steps * len(chunk.cells)

    @property
    def progress(self) -> tuple[int, int]:
        return self._done, self._total

    def cancel(self) -> None:
        for ref in list(self._pending):
            self._ray.cancel(ref)

    def results(self, progress: Progress | None = None) -> Iterator[ChunkResult]:
        from ray.exceptions import TaskCancelledError

        while self._pending:
            # A short wait, then progress as it is: a caller's progress callback (the Sweep
            # page's Stop and time limit) runs between chunks too, not only when one arrives.
            ready, _ = self._ray.wait(list(self._pending), num_returns=1, timeout=WAIT_SECONDS)
            if not ready:
                if progress is not None:
                    progress(*self.progress)
                continue
            (ref,) = ready
            work = self._pending.pop(ref)
            try:
                result = _own_copy(self._ray.get(ref))
            except TaskCancelledError:
                continue
            self._done += work
            if progress is not None:
                progress(*self.progress)
            yield result


def _own_copy(result: ChunkResult) -> ChunkResult:
    """The result with its weights copied out of Ray's object store.

    Arrays from ``ray.get`` are read-only views that pin the chunk's object in the store (a big
    sweep would fill it; torch also warns about read-only arrays): a few kB per cell to copy.
    """
    outcomes = [
        replace(o, state={name: np.array(value) for name, value in o.state.items()})
        for o in result.outcomes
    ]
    return replace(result, outcomes=outcomes)
