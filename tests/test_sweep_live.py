"""The Sweep page while a sweep trains: the executor comes from the server's environment only,
the grid fills in a chunk at a time with the other cells as placeholders, and the time limit
holds whatever the executor does."""

from __future__ import annotations

import itertools
import math
from contextlib import nullcontext
from dataclasses import replace

import numpy as np
import pytest

import ui.sweep_live as live
from deqnet import RunConfig
from deqnet.figures.sweep import METRICS
from deqnet.sweep import LocalExecutor, SweepCancelled, expand_grid, sweep, validate_grid
from deqnet.sweep.plan import plan_chunks

RUN = RunConfig.from_dict(
    {"data": {"name": "moons", "n": 48}, "model": {"solver": "rk4", "steps": 3, "width": 4}}
)
# Two stacks (a neural ODE and a ResNet never share one), one chunk each.
GRID = {"family": ["node", "resnet"], "lr": [0.01, 0.1]}
ACCURACY = next(m for m in METRICS if m.key == "test_acc")


class _Slot:
    """Stands in for st.empty(): its container is a plain context."""

    def container(self):
        return nullcontext()


@pytest.mark.parametrize(
    ("value", "expected"), [(None, "local"), ("ray", "ray"), (" Ray ", "ray"), ("dask", "local")]
)
def test_the_executor_is_the_servers_choice(monkeypatch, value, expected) -> None:
    if value is None:
        monkeypatch.delenv(live.ENV_EXECUTOR, raising=False)
    else:
        monkeypatch.setenv(live.ENV_EXECUTOR, value)
    assert live.server_executor() == expected


@pytest.fixture
def drawn(monkeypatch) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (values, diverged) of every grid LiveGrid draws."""
    drawn: list[tuple[np.ndarray, np.ndarray]] = []
    figure = live.sweep_grid_figure

    def record(values, *args, diverged, **kw):
        drawn.append((np.array(values), np.array(diverged)))
        return figure(values, *args, diverged=diverged, **kw)

    monkeypatch.setattr(live, "sweep_grid_figure", record)
    return drawn


def test_the_grid_fills_in_a_chunk_at_a_time(monkeypatch, drawn) -> None:
    monkeypatch.setattr(live, "REDRAW_SECONDS", 0.0)
    specs = expand_grid(RUN.data, RUN.model, RUN.train, validate_grid(GRID))
    chunks = plan_chunks(specs)
    assert [c.cells for c in chunks] == [(0, 1), (2, 3)]
    grid = live.LiveGrid(_Slot(), GRID, ACCURACY, [len(c.cells) for c in chunks])
    result = sweep(RUN.data, RUN.model, RUN.train, GRID, 3, on_cell=grid.add)
    # Drawn empty, then once per finished chunk (not once per cell).
    assert len(drawn) == 3
    assert np.isnan(drawn[0][0]).all()
    first, _ = drawn[1]
    np.testing.assert_allclose(first[0], result.metric("test_acc")[0])  # the node stack
    assert np.isnan(first[1]).all()  # the ResNet stack still pending
    np.testing.assert_allclose(drawn[2][0], result.metric("test_acc"))
    assert (grid.done, grid.total) == (4, 4)


def test_redraws_are_limited_and_held_back_cells_come_with_the_next_tick(
    monkeypatch, drawn
) -> None:
    first = replace(sweep(RUN.data, RUN.model, RUN.train, GRID, 1).cells[0], group=0)
    clock = itertools.chain([0.0, 0.1, 0.2, 0.5], itertools.repeat(0.6)).__next__
    monkeypatch.setattr(live.time, "perf_counter", clock)
    grid = live.LiveGrid(_Slot(), GRID, ACCURACY, [1, 1, 2])  # drawn at t = 0
    grid.add(first, 1, 4)  # its chunk is done, but only 0.1 s after the last redraw
    assert len(drawn) == 1 and grid.dirty
    grid.tick()  # t = 0.2: still too soon
    assert len(drawn) == 1
    grid.tick()  # t = 0.5: drawn
    assert len(drawn) == 2 and not grid.dirty
    assert not math.isnan(grid.values[0, 0])


def test_the_deadline_cancels_a_sweep_that_runs_long() -> None:
    executor = LocalExecutor()
    with pytest.raises(SweepCancelled) as stopped, live.deadline(executor, 0.5):
        sweep(RUN.data, RUN.model, RUN.train, {"lr": [0.01, 0.1]}, 5000, executor=executor)
    assert all(cell is None for cell in stopped.value.cells)
