"""deqnet.sweep's executors without Ray: results in grid order whatever the arrival order,
``on_cell`` as cells finish, cancel, caps, cells' models rebuilt from their weights, and
``import deqnet`` never importing Ray."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from subprocesses import run_python

import deqnet
from deqnet.sweep import LocalExecutor, SweepCancelled
from deqnet.sweep.executors import ChunkResult
from deqnet.sweep.grid import expand_grid, validate_grid
from deqnet.sweep.plan import plan_chunks

ROOT = Path(__file__).resolve().parents[1]
STEPS = 4
MODEL = deqnet.ModelConfig(family="node", solver="rk4", steps=3, width=4)
# Two stacks (solvers never share one) of 4 cells: chunks (0-3) and (4-7).
GRID = {"solver": ["euler", "rk4"], "lr": [0.01, 0.03], "seed": [0, 1]}


@pytest.fixture(scope="module")
def data() -> deqnet.Dataset:
    return deqnet.make_dataset("moons", n=48, noise=0.1, test_fraction=0.25, seed=0)


@pytest.fixture(scope="module")
def reference(data) -> deqnet.SweepResult:
    return deqnet.sweep(data, MODEL, deqnet.TrainConfig(), GRID, STEPS)


def same_cell(a, b) -> bool:
    """Same numbers: history (but its timings), metrics, status, NFE and weights bit for bit."""
    return (
        [r._replace(seconds=0.0) for r in a.history] == [r._replace(seconds=0.0) for r in b.history]
        and a.metrics == b.metrics
        and (a.status, a.message, a.nfe) == (b.status, b.message, b.nfe)
        and a.state.keys() == b.state.keys()
        and all(np.array_equal(a.state[k], b.state[k]) for k in a.state)
    )


class Reversed(LocalExecutor):
    """Hands the chunks back last first, as a cluster may."""

    def results(self, progress=None):
        yield from reversed(list(super().results(progress)))


def test_cells_come_back_in_grid_order_whatever_the_arrival_order(data, reference) -> None:
    seen: list[tuple[int, int, int]] = []
    result = deqnet.sweep(
        data,
        MODEL,
        deqnet.TrainConfig(),
        GRID,
        STEPS,
        executor=Reversed(),
        on_cell=lambda cell, done, total: seen.append((cell.spec.position, done, total)),
    )
    assert [cell.spec.position for cell in result.cells] == [
        c.spec.position for c in reference.cells
    ]
    assert all(same_cell(a, b) for a, b in zip(result.cells, reference.cells, strict=True))
    # on_cell follows arrival: the second chunk's cells first, counting up to 8.
    assert [done for _, done, _ in seen] == list(range(1, 9)) and {t for *_, t in seen} == {8}
    assert [position[0] for position, *_ in seen] == [1] * 4 + [0] * 4
    assert [g.cells for g in result.groups] == [(0, 1, 2, 3), (4, 5, 6, 7)]


def test_cancel_keeps_the_finished_cells(data, reference) -> None:
    executor = LocalExecutor()
    fractions: list[float] = []

    def stop_after_first_chunk(cell, done, total) -> None:
        if done == 4:
            executor.cancel()

    with pytest.raises(SweepCancelled, match="after 4 of 8 cells") as caught:
        deqnet.sweep(
            data,
            MODEL,
            deqnet.TrainConfig(),
            GRID,
            STEPS,
            executor=executor,
            on_cell=stop_after_first_chunk,
            progress=fractions.append,
        )
    cells = caught.value.cells
    assert all(same_cell(a, b) for a, b in zip(cells[:4], reference.cells[:4], strict=True))
    assert cells[4:] == [None] * 4
    assert fractions == sorted(fractions) and fractions[-1] == 0.5


def test_a_callback_error_cancels_and_passes_on(data) -> None:
    executor = LocalExecutor()

    def fail(fraction: float) -> None:
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        deqnet.sweep(
            data, MODEL, deqnet.TrainConfig(), GRID, STEPS, executor=executor, progress=fail
        )
    assert list(executor.results()) == []  # cancelled: nothing left to run


def test_caps_default_to_the_servers_and_can_be_raised(data) -> None:
    grid = {"lr": [0.01, 0.02, 0.03, 0.04, 0.05, 0.06], "seed": [0, 1, 2, 3, 4]}
    with pytest.raises(deqnet.ConfigError, match="allowed 1 to 5"):
        deqnet.sweep(data, MODEL, deqnet.TrainConfig(), grid, 1)
    caps = {"values_per_axis": 6, "cells": 30}
    result = deqnet.sweep(data, MODEL, deqnet.TrainConfig(), grid, 1, caps=caps)
    assert result.shape == (6, 5)
    # 30 cells of one stack: chunks of at most 16 cells (plan_chunks).
    assert [len(g.cells) for g in result.groups] == [16, 14]


def test_cell_model_is_built_once_from_its_weights(reference) -> None:
    cell = reference.cells[5]
    model = cell.model
    assert cell.model is model  # cached: every caller sees the same module
    assert cell.model.config == cell.spec.model_config
    for name, value in model.state_dict().items():
        assert torch.equal(value, torch.from_numpy(cell.state[name]))


def test_local_executor_streams_every_chunk_with_progress(data) -> None:
    specs = expand_grid(data, MODEL, deqnet.TrainConfig(), validate_grid(GRID))
    chunks = plan_chunks(specs)
    executor = LocalExecutor()
    executor.submit(specs, chunks, STEPS, torch.float32)
    ticks: list[tuple[int, int]] = []
    results = list(executor.results(lambda done, total: ticks.append((done, total))))
    assert all(isinstance(r, ChunkResult) for r in results)
    assert [r.chunk for r in results] == chunks
    assert ticks == [(4 * (k + 1), 32) for k in range(8)]  # one tick per stacked step
    assert executor.progress == (32, 32)


def test_importing_deqnet_does_not_import_ray() -> None:
    code = "import json, sys, deqnet, deqnet.sweep; print(json.dumps(sorted(sys.modules)))"
    proc = run_python(["-c", code], cwd=ROOT, env=dict(os.environ), timeout=120)
    assert proc.returncode == 0, proc.stderr
    modules = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "deqnet.sweep.ray_executor" in modules
    assert not [m for m in modules if m == "ray" or m.startswith("ray.")]
