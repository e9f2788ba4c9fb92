"""(j) A 1,024-cell sweep on a local Ray cluster of 2 workers against the local executor."""

from __future__ import annotations

import time

import numpy as np

import deqnet
from bench.common import Table
from deqnet.sweep import RayExecutor, SweepCell

TITLE = "(j) Sweep of 1,024 cells: Ray executor (2 workers) vs the local executor, wall time"
# 4 x 4 x 4 x 16 = 1,024 cells; the widths fall into separate stacks only across width bands.
GRID = {
    "lr": [0.003, 0.01, 0.03, 0.1],
    "weight_decay": [0.0, 1e-4, 1e-3, 1e-2],
    "width": [4, 8, 16, 32],
    "seed": list(range(16)),
}
QUICK_GRID = {"lr": [0.01, 0.03], "width": [4, 32], "seed": [0, 1]}
WORKERS = 2


def run(quick: bool) -> Table:
    import ray  # requirements-ray.txt: only this table needs it

    grid = QUICK_GRID if quick else GRID
    steps = 2 if quick else 10
    data = deqnet.DataConfig(name="moons", n=64 if quick else 256, noise=0.1)
    model = deqnet.ModelConfig(family="node", solver="rk4", steps=5)
    train = deqnet.TrainConfig()
    cells = int(np.prod([len(v) for v in grid.values()]))
    caps = {"values_per_axis": max(len(v) for v in grid.values()), "cells": cells}

    def timed(executor) -> tuple[deqnet.SweepResult, float]:
        start = time.perf_counter()
        result = deqnet.sweep(data, model, train, grid, steps, executor=executor, caps=caps)
        return result, time.perf_counter() - start

    deqnet.sweep(data, model, train, QUICK_GRID, 1)  # untimed: this process's first use
    local, local_seconds = timed("local")
    start = time.perf_counter()
    ray.init(address="local", num_cpus=WORKERS, include_dashboard=False, log_to_driver=False)
    started = time.perf_counter() - start
    try:
        # Untimed: every worker imports deqnet once, whatever it trains first.
        deqnet.sweep(data, model, train, QUICK_GRID, 1, executor=RayExecutor())
        remote, remote_seconds = timed(RayExecutor())
    finally:
        start = time.perf_counter()
        ray.shutdown()
        stopped = time.perf_counter() - start
    if not all(_same(a, b) for a, b in zip(remote.cells, local.cells, strict=True)):
        raise RuntimeError("the Ray executor's cells differ from the local executor's")
    table = Table(TITLE, ["executor", "wall s", "cells / s", "vs local", "cells identical"])
    runs = (("local (this process)", local_seconds), (f"ray, {WORKERS} workers", remote_seconds))
    for name, seconds in runs:
        speed = f"{local_seconds / seconds:.2f}×"
        table.rows.append([name, f"{seconds:.2f}", f"{cells / seconds:.0f}", speed, "yes"])
    chunks = len(local.groups)
    table.notes = [
        f"{cells} cells ({' × '.join(str(len(v)) for v in grid.values())}: "
        f"{', '.join(grid)}), {steps} full-batch steps each, node rk4 (5 steps) on moons "
        f"(n={data.n}); {chunks} chunks of at most 16 cells, the same for both executors. "
        "Wall time of deqnet.sweep, from the call to the assembled result.",
        "An untimed small sweep runs first on each executor (the first use of torch here, each "
        f"Ray worker importing deqnet). Starting the local Ray cluster took {started:.1f} s and "
        f"stopping it {stopped:.1f} s, not in the wall time either. Cells identical: histories, "
        "metrics, status, NFE and weights bit for bit.",
    ]
    return table


def _same(a: SweepCell, b: SweepCell) -> bool:
    return (
        [r._replace(seconds=0.0) for r in a.history] == [r._replace(seconds=0.0) for r in b.history]
        and a.metrics == b.metrics
        and (a.status, a.message, a.nfe) == (b.status, b.message, b.nfe)
        and all(np.array_equal(a.state[k], b.state[k]) for k in a.state)
    )
