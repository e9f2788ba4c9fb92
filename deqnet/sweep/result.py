"""What a sweep returns: one SweepCell per grid combination, grouped as they were trained."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np
import torch

from deqnet.analysis.grids import DecisionGrid, Extent, decision_grid, plot_extent
from deqnet.config import ConfigError
from deqnet.datasets import Dataset
from deqnet.models.base import DeqModel, SolverFailure
from deqnet.sweep.grid import CellSpec
from deqnet.sweep.job import CellOutcome, trained_model
from deqnet.training import StepRecord


class CellPictures(NamedTuple):
    """Decision grids of a sweep's cells for side-by-side panels.

    Attributes:
        extent: the box (x0, x1, y0, y1) shared by all cells.
        grids: one per cell (``SweepResult.cells`` order); None where the solver failed.
    """

    extent: Extent
    grids: list[DecisionGrid | None]


@dataclass(frozen=True, eq=False)
class SweepCell:
    """One trained combination of the grid.

    Attributes:
        spec: what the cell trained: its grid position and values, full configs and data
            (``CellSpec``; ``spec.train_config.train_steps`` is the sweep's step budget).
        history: StepRecords with the Trainer's meaning (metrics of the weights each step started
            from; test accuracy before the update). ``nfe_forward``/``nfe_backward`` are those of
            the group's shared solve; ``seconds`` is the group's step time divided by the number
            of models in that step.
        metrics: ``deqnet.evaluate`` of the final weights with the cell's loss (to float
            rounding: one stacked pass, ``deqnet.engine.evaluate_together``).
        status: "ok", or "diverged" (training stopped; ``message`` says why, weights restored).
        nfe: total evaluations of the shared solves this cell took part in (forward + backward).
        seconds: the group's training wall time divided by its number of cells.
        group: index into ``SweepResult.groups`` (the chunk it trained in).
        state: the trained weights, parameter name -> array (what ``model`` is built from).
        dtype: the dtype it trained in.
    """

    spec: CellSpec
    history: list[StepRecord]
    metrics: dict[str, float]
    status: str
    message: str
    nfe: int
    seconds: float
    group: int
    state: dict[str, np.ndarray]
    dtype: torch.dtype

    @classmethod
    def from_outcome(
        cls, spec: CellSpec, outcome: CellOutcome, group: int, dtype: torch.dtype
    ) -> SweepCell:
        """The cell of ``spec`` from what its chunk's training returned."""
        return cls(
            spec=spec,
            history=list(outcome.history),
            metrics=outcome.metrics,
            status=outcome.status,
            message=outcome.message,
            nfe=outcome.nfe,
            seconds=outcome.seconds,
            group=group,
            state=outcome.state,
            dtype=dtype,
        )

    @cached_property
    def model(self) -> DeqModel:
        """The trained model, usable on its own (a plain deqnet model of the spec's config).

        Built from ``state`` on first use (a sweep's cells may come from other processes, and
        most are never opened), then kept: every use sees the same module.
        """
        return trained_model(self.spec, self.state, self.dtype)

    @property
    def overrides(self) -> dict[str, Any]:
        """The grid values of this cell, by name."""
        return self.spec.overrides

    @property
    def data(self) -> Dataset:
        """The dataset the cell trained on."""
        return self.spec.data


@dataclass(frozen=True)
class SweepGroup:
    """Cells trained as one batched computation: a chunk of ``deqnet.sweep.plan.plan_chunks``
    (shape-compatible cells, at most ``CHUNK_CELLS`` of them).

    Attributes:
        cells: indices into ``SweepResult.cells``.
        seconds: wall time of training the chunk's steps.
        cpu_seconds: CPU time of the process that trained it, for the whole chunk (building the
            models, training, the final evaluation): what it cost that machine.
    """

    cells: tuple[int, ...]
    seconds: float
    cpu_seconds: float


@dataclass(frozen=True, eq=False)
class SweepResult:
    """All cells of a sweep.

    Attributes:
        grid: axis name -> values, in the order given.
        steps: training steps per cell (fewer for diverged cells).
        cells: one per combination, row-major over the axes (the last axis varies fastest).
        groups: how the cells were batched, one per chunk in plan order.
        seconds: wall time of the whole sweep (building, training and final evaluation).
    """

    grid: dict[str, tuple[Any, ...]]
    steps: int
    cells: list[SweepCell]
    groups: list[SweepGroup]
    seconds: float

    @property
    def shape(self) -> tuple[int, ...]:
        """Number of values on each axis."""
        return tuple(len(v) for v in self.grid.values())

    def cell(self, **overrides: Any) -> SweepCell:
        """The cell with exactly these grid values, e.g. ``result.cell(lr=0.01, seed=1)``."""
        if set(overrides) != set(self.grid):
            raise ConfigError(f"give a value for each grid axis: {', '.join(self.grid)}")
        for cell in self.cells:
            if cell.overrides == overrides:
                return cell
        raise ConfigError(f"no cell with {overrides!r} in the grid {self.grid!r}")

    def diverged(self) -> np.ndarray:
        """True for each cell whose training stopped, shaped like the grid."""
        return np.array([c.status != "ok" for c in self.cells]).reshape(self.shape)

    def decision_grids(self, n: int) -> CellPictures:
        """Each cell's decision grid (n x n) on one extent around the data of all cells.

        Cells whose model makes the solver fail on the grid get None.
        """
        datasets = list({id(c.data): c.data for c in self.cells}.values())
        extent = plot_extent(
            np.concatenate([np.concatenate([d.x_train, d.x_test]) for d in datasets])
        )
        grids: list[DecisionGrid | None] = []
        for cell in self.cells:
            try:
                grids.append(decision_grid(cell.model, extent, n=n))
            except SolverFailure:
                grids.append(None)
        return CellPictures(extent, grids)

    def metric(self, name: str) -> np.ndarray:
        """One number per cell, shaped like the grid (e.g. a heatmap of test accuracy).

        ``name``: a key of ``SweepCell.metrics`` (train_acc, test_acc, train_loss, test_loss),
        "nfe", "seconds" or "steps_done".
        """
        allowed = (*self.cells[0].metrics, "nfe", "seconds", "steps_done")
        if name not in allowed:
            raise ConfigError(f"unknown metric {name!r}; choose one of {', '.join(allowed)}")
        values = []
        for cell in self.cells:
            if name == "steps_done":
                values.append(len(cell.history))
            elif name in cell.metrics:
                values.append(cell.metrics[name])
            else:
                values.append(getattr(cell, name))
        return np.asarray(values, dtype=np.float64).reshape(self.shape)
