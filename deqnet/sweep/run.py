"""``sweep``: train every combination of a hyperparameter grid, stacked, here or on a cluster."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from deqnet.config import DataConfig, ModelConfig, TrainConfig
from deqnet.datasets import Dataset
from deqnet.sweep.executors import Executor, as_executor
from deqnet.sweep.grid import expand_grid, validate_grid
from deqnet.sweep.plan import plan_chunks
from deqnet.sweep.result import SweepCell, SweepGroup, SweepResult


class SweepCancelled(Exception):
    """The executor was cancelled before every cell finished.

    Attributes:
        cells: the finished cells by grid index (None where a cell did not finish).
    """

    def __init__(self, cells: list[SweepCell | None]) -> None:
        done = sum(c is not None for c in cells)
        super().__init__(f"sweep cancelled after {done} of {len(cells)} cells")
        self.cells = cells


def sweep(
    data: Dataset | DataConfig,
    model_config: ModelConfig,
    train_config: TrainConfig,
    grid: Mapping[str, Sequence[Any]],
    steps: int | None = None,
    *,
    dtype: torch.dtype = torch.float32,
    progress: Callable[[float], None] | None = None,
    executor: str | Executor | None = None,
    on_cell: Callable[[SweepCell, int, int], None] | None = None,
    caps: Mapping[str, int] | None = None,
) -> SweepResult:
    """Train every combination of ``grid`` for ``steps`` steps, batched into stacked chunks.

    Args:
        data: a Dataset, or a DataConfig (required when "noise" is in the grid: each noise level
            generates its own data from the same seed).
        model_config, train_config: the base configs; each cell overrides the grid's names.
        grid: name -> list of values (names in ``GRID_NAMES``). "seed" sets train_config.seed,
            which also seeds the initial weights; "steps" is the solver's step count
            (ModelConfig.steps).
        steps: optimiser steps per cell; default ``train_config.train_steps``.
        dtype: the models' dtype (float64 for exact comparisons).
        progress: called with the fraction of cell-steps done (after each stacked step with the
            local executor, after each chunk with Ray).
        executor: None or "local" (this process), "ray" (joins ``RAY_ADDRESS`` or starts a
            local cluster; needs requirements-ray.txt), or an ``Executor``. Every executor
            trains the same chunks, so the numbers are the same cell for cell.
        on_cell: called as each cell finishes, with the cell, the cells done and the total
            (chunks arrive in any order; ``SweepResult.cells`` is in grid order whatever it was).
        caps: "values_per_axis" and "cells" limits; default the shared server's ``SWEEP_CAPS``
            (5 values per axis, 25 cells).

    Cells with equal ``stack_key`` (not exact: any lr, weight_decay, T, gamma, seed or noise;
    widths within a band of 16, padded; any number of layers, padded) train as one stacked
    computation (stacked weights, one solver call per step for all of them), cut into chunks of
    at most ``CHUNK_CELLS``; other settings (family, solver, solver steps, ...) split the cells
    into separate stacks. With
    fixed-step solvers every cell follows the same curve as its config trained alone with
    ``Trainer`` (to float rounding). With dopri5 the chunk shares one step-size controller whose
    error test is the worst model's own test: every cell meets its rtol/atol but takes the
    steps of the hardest cell, so its curve differs slightly from a lone run and its NFE is the
    chunk's.

    If ``progress`` or ``on_cell`` raises, the executor is cancelled and the exception passes
    on; if the executor is cancelled from elsewhere, raises ``SweepCancelled`` with the cells
    that finished. Raises ConfigError for unknown names, too many values or invalid values.
    """
    steps = train_config.train_steps if steps is None else steps
    train_config = train_config.replace(train_steps=steps)
    checked = validate_grid(grid, caps)
    specs = expand_grid(data, model_config, train_config, checked)
    chunks = plan_chunks(specs)
    runner = as_executor(executor)
    start = time.perf_counter()
    cells: list[SweepCell | None] = [None] * len(specs)
    groups: list[SweepGroup | None] = [None] * len(chunks)
    report = None if progress is None else (lambda done, total: progress(done / total))
    done = 0
    try:
        runner.submit(specs, chunks, steps, dtype)
        for result in runner.results(report):
            index = result.chunk.index
            seconds = sum(outcome.seconds for outcome in result.outcomes)
            groups[index] = SweepGroup(result.chunk.cells, seconds, result.cpu_seconds)
            for outcome in result.outcomes:
                cell = SweepCell.from_outcome(specs[outcome.cell], outcome, index, dtype)
                cells[outcome.cell] = cell
                done += 1
                if on_cell is not None:
                    on_cell(cell, done, len(specs))
    except BaseException:
        runner.cancel()
        raise
    if done < len(specs):
        raise SweepCancelled(cells)
    return SweepResult(
        grid=checked,
        steps=steps,
        cells=[c for c in cells if c is not None],
        groups=[g for g in groups if g is not None],
        seconds=time.perf_counter() - start,
    )
