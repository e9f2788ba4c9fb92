"""``sweep``: train every combination of a small hyperparameter grid together."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from deqnet.config import DataConfig, ModelConfig, TrainConfig
from deqnet.datasets import Dataset
from deqnet.models import DeqModel, build_model
from deqnet.sweep.grid import CellSpec, expand_grid, group_cells, validate_grid
from deqnet.sweep.group import GroupTrainer
from deqnet.sweep.result import SweepCell, SweepGroup, SweepResult


def sweep(
    data: Dataset | DataConfig,
    model_config: ModelConfig,
    train_config: TrainConfig,
    grid: Mapping[str, Sequence[Any]],
    steps: int | None = None,
    *,
    dtype: torch.dtype = torch.float32,
    progress: Callable[[float], None] | None = None,
) -> SweepResult:
    """Train every combination of ``grid`` for ``steps`` steps, batched into one computation.

    Args:
        data: a Dataset, or a DataConfig (required when "noise" is in the grid: each noise level
            generates its own data from the same seed).
        model_config, train_config: the base configs; each cell overrides the grid's names.
        grid: name -> list of values (names in ``GRID_NAMES``; at most 5 values per axis and 25
            cells, see ``SWEEP_CAPS``). "seed" sets train_config.seed, which also seeds the
            initial weights; "steps" is the solver's step count (ModelConfig.steps).
        steps: optimiser steps per cell; default ``train_config.train_steps``.
        dtype: the models' dtype (float64 for exact comparisons).
        progress: called with the fraction of cell-steps done after each batched step.

    Cells that differ only in lr, weight_decay, T, gamma, seed or noise train as one batched
    computation (stacked weights, one solver call per step for all of them); other settings split
    the cells into groups trained one after another. With fixed-step solvers every cell follows
    the same curve as its config trained alone with ``Trainer`` (to float rounding). With dopri5
    the group shares one step-size controller whose error test is the worst model's own test:
    every cell meets its rtol/atol but takes the steps of the hardest cell, so its curve differs
    slightly from a lone run and its NFE is the group's.

    Raises ConfigError for unknown names, too many values or invalid values.
    """
    steps = train_config.train_steps if steps is None else steps
    train_config = train_config.replace(train_steps=steps)
    checked = validate_grid(grid)
    specs = expand_grid(data, model_config, train_config, checked)
    start = time.perf_counter()
    cells: list[SweepCell | None] = [None] * len(specs)
    groups = []
    done, total = 0, steps * len(specs)
    for g, members in enumerate(group_cells(specs)):
        group_specs = [specs[i] for i in members]
        models = [_initial_model(spec, dtype) for spec in group_specs]
        trainer = GroupTrainer(
            models, [s.data for s in group_specs], [s.train_config for s in group_specs]
        )
        group_start, group_cpu = time.perf_counter(), time.process_time()
        for _ in range(steps):
            trainer.step()
            done += len(members)
            if progress is not None:
                progress(done / total)
        seconds = time.perf_counter() - group_start
        cpu = time.process_time() - group_cpu
        groups.append(SweepGroup(cells=tuple(members), seconds=seconds, cpu_seconds=cpu))
        metrics = trainer.final_metrics()
        for j, i in enumerate(members):
            cells[i] = _cell(specs[i], trainer, j, metrics[j], g, seconds / len(members))
    return SweepResult(
        grid=checked,
        steps=steps,
        cells=[c for c in cells if c is not None],
        groups=groups,
        seconds=time.perf_counter() - start,
    )


def _initial_model(spec: CellSpec, dtype: torch.dtype) -> DeqModel:
    """The cell's model exactly as ``build_model`` makes it for a lone run (seed = train seed)."""
    model = build_model(spec.model_config, spec.data.n_classes, spec.train_config.seed)
    return model.to(dtype)


def _cell(
    spec: CellSpec,
    trainer: GroupTrainer,
    j: int,
    metrics: dict[str, float],
    group: int,
    seconds: float,
) -> SweepCell:
    model = trainer.trainers[j].model
    model.nfe = 0
    history = trainer.history[j]
    return SweepCell(
        spec=spec,
        history=history,
        metrics=metrics,
        status=trainer.status[j],
        message=trainer.messages[j],
        nfe=sum(r.nfe_forward + r.nfe_backward for r in history),
        seconds=seconds,
        group=group,
        model=model,
    )
