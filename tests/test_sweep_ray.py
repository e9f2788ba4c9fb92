"""The Ray executor on one local 2-worker cluster shared by the module: the same numbers as the
local executor cell for cell, no cell lost when a worker is killed mid-chunk, and a cancel that
leaves only whole chunks in the command line's journal.

Workers inherit the test hook's variable (``ray_executor.TEST_PAUSE_VARIABLE``) from the
environment the cluster starts in; it names a directory that exists only while a test wants
chunks to write their pid and pause.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import ray
import torch

import deqnet
from deqnet.sweep import RayExecutor
from deqnet.sweep.cli import train_into
from deqnet.sweep.grid import expand_grid, validate_grid
from deqnet.sweep.journal import Journal
from deqnet.sweep.plan import plan_chunks
from deqnet.sweep.ray_executor import TEST_PAUSE_VARIABLE

STEPS = 12
MODEL = deqnet.ModelConfig(family="node", solver="rk4", steps=4, width=8)
# Two stacks (solvers never share one) of 4 cells each: two chunks.
GRID = {"solver": ["euler", "rk4"], "lr": [0.01, 0.05], "seed": [0, 1]}


@pytest.fixture(scope="module")
def pause_dir():
    """A private Ray cluster (its own temp dir: no other driver on this machine finds it) whose
    workers see the test hook's variable; shut down, and checked gone, at the end."""
    temp = Path(tempfile.mkdtemp(prefix="dqray"))  # short: Ray's socket paths must stay short
    pause = temp / "pause"
    os.environ[TEST_PAUSE_VARIABLE] = str(pause)
    try:
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            log_to_driver=False,
            object_store_memory=100 * 2**20,
            _temp_dir=str(temp / "ray"),
        )
        yield pause
    finally:
        ray.shutdown()
        del os.environ[TEST_PAUSE_VARIABLE]
        assert _ray_children() == []
        shutil.rmtree(temp, ignore_errors=True)


def _ray_children(wait: float = 5.0) -> list[str]:
    """Names of this process's raylet / gcs_server children still running after ``wait`` s."""
    deadline = time.monotonic() + wait
    while True:
        left = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)
                name, parent = fields[0].split("(", 1)[1], int(fields[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if parent == os.getpid() and name in ("raylet", "gcs_server"):
                left.append(name)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


@pytest.fixture(scope="module")
def data() -> deqnet.Dataset:
    return deqnet.make_dataset("moons", n=64, noise=0.1, test_fraction=0.25, seed=0)


@pytest.fixture(scope="module")
def local(data) -> deqnet.SweepResult:
    return deqnet.sweep(data, MODEL, deqnet.TrainConfig(), GRID, STEPS)


def assert_same_cells(result: deqnet.SweepResult, local: deqnet.SweepResult) -> None:
    """Histories (but their timings), metrics, status, NFE and weights, bit for bit."""
    assert len(result.cells) == len(local.cells)
    for mine, ref in zip(result.cells, local.cells, strict=True):
        assert mine.spec.position == ref.spec.position
        assert [r._replace(seconds=0.0) for r in mine.history] == [
            r._replace(seconds=0.0) for r in ref.history
        ]
        assert mine.metrics == ref.metrics
        assert (mine.status, mine.message, mine.nfe) == (ref.status, ref.message, ref.nfe)
        for name, value in ref.state.items():
            assert np.array_equal(mine.state[name], value), name
        for p, q in zip(mine.model.parameters(), ref.model.parameters(), strict=True):
            assert torch.equal(p, q)


def test_ray_equals_local_cell_for_cell(pause_dir, data, local) -> None:
    arrived: list[int] = []
    result = deqnet.sweep(
        data,
        MODEL,
        deqnet.TrainConfig(),
        GRID,
        STEPS,
        executor="ray",
        on_cell=lambda cell, done, total: arrived.append(done),
    )
    assert_same_cells(result, local)
    assert arrived == list(range(1, 9))
    assert [g.cells for g in result.groups] == [g.cells for g in local.groups]


def test_a_killed_worker_loses_no_cell(pause_dir, data, local) -> None:
    pause_dir.mkdir()
    killed: list[int] = []

    def kill_first_worker() -> None:
        deadline = time.monotonic() + 30
        while not killed and time.monotonic() < deadline:
            for pid_file in pause_dir.glob("*.pid"):
                if not pid_file.read_text():  # created, not written yet
                    continue
                killed.append(int(pid_file.read_text()))
                os.kill(killed[0], signal.SIGKILL)  # mid-chunk: it is sleeping in the hook
                shutil.rmtree(pause_dir)  # the retry needs no pause
                return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_first_worker)
    killer.start()
    try:
        result = deqnet.sweep(data, MODEL, deqnet.TrainConfig(), GRID, STEPS, executor="ray")
    finally:
        killer.join()
        shutil.rmtree(pause_dir, ignore_errors=True)
    assert killed  # a worker did die, and Ray ran its chunk again elsewhere
    assert_same_cells(result, local)


def test_cancel_leaves_whole_chunks_in_the_journal(pause_dir, data, tmp_path) -> None:
    specs = expand_grid(data, MODEL, deqnet.TrainConfig(), validate_grid(GRID))
    chunks = plan_chunks(specs, max_cells=2)  # 4 chunks of 2 cells
    header = {"digest": "test", "cells": len(specs), "histories": True}
    journal = Journal(tmp_path / "r.parquet.journal.jsonl", header, resume=False)
    executor = RayExecutor()

    def cancel_after_first_chunk() -> None:
        deadline = time.monotonic() + 30
        while not journal.records and time.monotonic() < deadline:
            time.sleep(0.005)
        executor.cancel()

    pause_dir.mkdir()  # every chunk pauses: the second is still running when cancel comes
    canceller = threading.Thread(target=cancel_after_first_chunk)
    canceller.start()
    try:
        train_into(journal, executor, specs, chunks, STEPS, histories=True)
    finally:
        canceller.join()
        journal.close()
        shutil.rmtree(pause_dir)
    text = journal.path.read_text()
    assert text.endswith("\n")
    lines = [json.loads(line) for line in text.splitlines()]
    cells = sorted(record["cell"] for record in lines[1:])
    finished = {record["chunk"] for record in lines[1:]}
    assert 1 <= len(finished) < len(chunks)  # cancelled before the end
    assert cells == sorted(i for c in finished for i in chunks[c].cells)  # whole chunks only
    assert all(len(record["history"]) == STEPS for record in lines[1:])
    resumed = Journal(journal.path, header, resume=True)
    resumed.close()
    assert sorted(resumed.records) == cells
