"""Hyperparameter sweeps trained as one batched computation: ``sweep(data, model, train, grid)``.

Modules: grid.py (the sweepable settings, caps, cells, groups, their memory), batched.py (M models
as stacked tensors), group.py (``step_together``: one batched step of many Trainers;
``class_key``: which Trainers may share it), result.py, run.py (``sweep``).
"""

from deqnet.sweep.grid import (
    BATCHED_NAMES,
    GRID_AXES,
    GRID_NAMES,
    GROUPED_NAMES,
    SWEEP_CAPS,
    CellSpec,
    GridAxis,
    expand_grid,
    group_cells,
    group_step_memory,
    unused_setting,
    validate_grid,
)
from deqnet.sweep.group import class_key, step_together
from deqnet.sweep.result import CellPictures, SweepCell, SweepGroup, SweepResult
from deqnet.sweep.run import sweep

__all__ = [
    "BATCHED_NAMES",
    "GRID_AXES",
    "GRID_NAMES",
    "GROUPED_NAMES",
    "SWEEP_CAPS",
    "CellPictures",
    "CellSpec",
    "GridAxis",
    "SweepCell",
    "SweepGroup",
    "SweepResult",
    "class_key",
    "expand_grid",
    "group_cells",
    "group_step_memory",
    "step_together",
    "sweep",
    "unused_setting",
    "validate_grid",
]
