"""Expanding a sweep grid into validated cells, and grouping the cells that can train together.

A grid maps names to value lists, e.g. ``{"lr": [1e-3, 1e-2], "seed": [0, 1]}``. Every combination
is one cell with its own ModelConfig, TrainConfig and data. Cells with equal stack keys
(``deqnet.engine.stack_key``: the same family and solver, widths within a band, ...) form one
group, trained as stacked computations; other settings (family, solver, solver steps, ...) split
the cells into several groups of the same call.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from deqnet.config import (
    ACTIVATIONS,
    FAMILIES,
    LIMITS,
    NONLINEARITIES,
    SOLVERS,
    TIME_MODE_NAMES,
    ConfigError,
    DataConfig,
    ModelConfig,
    RunConfig,
    TrainConfig,
)
from deqnet.datasets import Dataset, DatasetError
from deqnet.engine.keys import DataSizes, stack_key
from deqnet.families import FAMILY_TABLE


@dataclass(frozen=True)
class GridAxis:
    """A setting ``sweep`` can vary.

    Attributes:
        kind: float or int (any numbers the config accepts), or the tuple of allowed choices.
        default: values a new sweep over it starts from (what a picker offers first).

    Which values share a stacked computation is ``deqnet.engine.stack_key``'s rule, not the
    axis's: seeds, learning rates, T, widths within a band and layers do; solvers do not.
    """

    kind: type | tuple[Any, ...]
    default: tuple[Any, ...]


_AUGMENTS = tuple(range(int(LIMITS["augment"][0]), int(LIMITS["augment"][1]) + 1))

# The sweepable settings. "steps" is the solver's step count
# (ModelConfig.steps), not the training budget.
GRID_AXES: dict[str, GridAxis] = {
    "lr": GridAxis(float, (0.003, 0.01, 0.03, 0.1)),
    "weight_decay": GridAxis(float, (0.0, 1e-4, 1e-3, 1e-2)),
    "T": GridAxis(float, (0.5, 1.0, 2.0, 4.0)),
    "gamma": GridAxis(float, (0.0, 0.1, 0.5, 1.0)),
    "seed": GridAxis(int, (0, 1, 2, 3)),
    "noise": GridAxis(float, (0.05, 0.1, 0.2, 0.3)),
    "family": GridAxis(FAMILIES, FAMILIES),
    "width": GridAxis(int, (4, 8, 16, 32)),
    "layers": GridAxis(int, (2, 5, 10, 20)),
    "solver": GridAxis(SOLVERS, ("euler", "rk4", "dopri5")),
    "augment": GridAxis(_AUGMENTS, (0, 1, 2)),
    "steps": GridAxis(int, (5, 10, 20, 40)),
    "time_mode": GridAxis(TIME_MODE_NAMES, ("autonomous", "piecewise")),
    "segments": GridAxis(int, (1, 2, 4, 8)),
    "activation": GridAxis(ACTIVATIONS, ACTIVATIONS),
    "nonlinearity": GridAxis(NONLINEARITIES, NONLINEARITIES),
}
GRID_NAMES = tuple(GRID_AXES)

# Caps for a shared server: values per axis and cells per sweep.
SWEEP_CAPS = {"values_per_axis": 5, "cells": 25}

_TRAIN_NAMES = ("lr", "weight_decay", "seed")


@dataclass(frozen=True)
class CellSpec:
    """One combination of the grid, validated.

    Attributes:
        position: index of each grid value, in the grid's axis order.
        overrides: the grid values of this cell, by name.
        model_config, train_config: the full configs (train_config.seed also seeds the weights).
        data_config: the DataConfig the data came from (None when a Dataset was given).
        data: the cell's dataset.
    """

    position: tuple[int, ...]
    overrides: dict[str, Any]
    model_config: ModelConfig
    train_config: TrainConfig
    data_config: DataConfig | None
    data: Dataset

    @property
    def run_config(self) -> RunConfig | None:
        """The RunConfig that reproduces this cell alone (None if the data was a Dataset)."""
        if self.data_config is None:
            return None
        return RunConfig(data=self.data_config, model=self.model_config, train=self.train_config)

    def stack_key(self, dtype: torch.dtype = torch.float32) -> Hashable | None:
        """Cells with equal keys train as one stack (``deqnet.engine.stack_key``, not exact)."""
        sizes = DataSizes(self.data.n_classes, self.data.n_train, self.data.n_test)
        return stack_key(self.model_config, self.train_config, sizes, exact=False, dtype=dtype)


def validate_grid(
    grid: Mapping[str, Sequence[Any]], caps: Mapping[str, int] | None = None
) -> dict[str, tuple[Any, ...]]:
    """Check names and value counts; returns the grid with tuples of values, in the same order.

    ``caps`` ("values_per_axis", "cells") defaults to the shared server's ``SWEEP_CAPS``; the
    command line and notebooks pass their own. Raises ConfigError naming the allowed names, or
    the cap that was exceeded.
    """
    caps = SWEEP_CAPS if caps is None else caps
    if not isinstance(grid, Mapping):
        raise ConfigError(f"grid must be a mapping of name -> list of values, got {grid!r}")
    unknown = [name for name in grid if name not in GRID_NAMES]
    if unknown:
        raise ConfigError(
            f"cannot sweep over {', '.join(map(str, unknown))}; "
            f"allowed names: {', '.join(GRID_NAMES)}"
        )
    out: dict[str, tuple[Any, ...]] = {}
    cap = caps["values_per_axis"]
    for name, values in grid.items():
        if isinstance(values, str | bytes) or not isinstance(values, Sequence):
            raise ConfigError(f"grid values for {name} must be a list, got {values!r}")
        if not 1 <= len(values) <= cap:
            raise ConfigError(f"grid {name} has {len(values)} values; allowed 1 to {cap}")
        try:
            repeated = len(set(values)) != len(values)
        except TypeError:  # a list or a mapping among the values (a hand-written spec file)
            raise ConfigError(f"grid {name} values must be numbers or names: {values!r}") from None
        if repeated:
            raise ConfigError(f"grid {name} repeats a value: {list(values)!r}")
        out[name] = tuple(values)
    cells = 1
    for values in out.values():
        cells *= len(values)
    if cells > caps["cells"]:
        raise ConfigError(f"the grid has {cells} combinations; at most {caps['cells']}")
    return out


def unused_setting(name: str, model_config: ModelConfig) -> str | None:
    """Why sweeping ``name`` would not change this model (its cells would all match), or None.

    Read from the family table (``uses_gamma``, ``uses_mlp``) and from
    whether the model is discrete; the answer completes "<setting> does not change …".
    """
    family = FAMILY_TABLE[model_config.family]
    if name in ("gamma", "nonlinearity") and not family.uses_gamma:
        return "a model without the nonlinearity g"
    if name in ("width", "activation") and not family.uses_mlp:
        return "a model without an MLP"
    if name == "layers" and not model_config.discrete:
        return "a continuous model (layers belong to ResNets and feed-forward nets)"
    if name == "solver" and model_config.discrete:
        return "a discrete network (it has no ODE solver)"
    return None


def expand_grid(
    data: Dataset | DataConfig,
    model_config: ModelConfig,
    train_config: TrainConfig,
    grid: dict[str, tuple[Any, ...]],
) -> list[CellSpec]:
    """All combinations of a validated grid, in row-major order of its axes.

    ``data`` may be a Dataset only when "noise" is not swept (the noise is baked into the points);
    with a DataConfig each distinct noise generates its own data set.
    """
    if not isinstance(data, Dataset | DataConfig):
        raise ConfigError(f"data must be a Dataset or a DataConfig, got {type(data).__name__}")
    if "noise" in grid and not isinstance(data, DataConfig):
        raise ConfigError(
            "sweeping noise needs a DataConfig (the data is regenerated per noise level); "
            "a ready-made Dataset has its noise fixed"
        )
    made: dict[DataConfig, Dataset] = {}
    names = list(grid)
    cells = []
    for position in itertools.product(*(range(len(v)) for v in grid.values())):
        overrides = {name: grid[name][i] for name, i in zip(names, position, strict=True)}
        train = {k: v for k, v in overrides.items() if k in _TRAIN_NAMES}
        model = {k: v for k, v in overrides.items() if k not in _TRAIN_NAMES and k != "noise"}
        train_cfg = _checked(train_config.replace, **train)
        model_cfg = _checked(model_config.replace, **model)
        data_cfg = None
        dataset = data
        if isinstance(data, DataConfig):
            noise = {"noise": overrides["noise"]} if "noise" in overrides else {}
            data_cfg = _checked(data.replace, **noise)
            if data_cfg not in made:
                made[data_cfg] = data_cfg.make()
            dataset = made[data_cfg]
        cells.append(CellSpec(position, overrides, model_cfg, train_cfg, data_cfg, dataset))
    return cells


def group_cells(cells: list[CellSpec]) -> list[list[int]]:
    """Indices of the cells of each stack (equal ``stack_key``), stacks in first-seen order."""
    groups: dict[Hashable, list[int]] = {}
    for i, cell in enumerate(cells):
        groups.setdefault(cell.stack_key(), []).append(i)
    return list(groups.values())


def _checked(make, **changes: Any):
    """Build a config copy; value errors surface as ConfigError naming the swept setting."""
    try:
        return make(**changes)
    except DatasetError as err:
        raise ConfigError(f"invalid grid value: {err}") from err
    except ConfigError as err:
        raise ConfigError(f"invalid grid value: {err}") from err
