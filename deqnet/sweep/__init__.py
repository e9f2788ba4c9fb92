"""Hyperparameter sweeps trained as one batched computation: ``sweep(data, model, train, grid)``.

Modules: grid.py (the sweepable settings, caps, cells, groups, their memory), plan.py (cells cut
into chunks), job.py (one chunk trained), executors.py (``LocalExecutor``) and ray_executor.py
(``RayExecutor``, imports Ray only when used), result.py, run.py (``sweep``); results_file.py
(Parquet results of the command line ``python -m deqnet.sweep``, see cli.py).
"""

from deqnet.sweep.executors import ChunkResult, Executor, LocalExecutor
from deqnet.sweep.grid import (
    GRID_AXES,
    GRID_NAMES,
    SWEEP_CAPS,
    CellSpec,
    GridAxis,
    expand_grid,
    group_cells,
    unused_setting,
    validate_grid,
)
from deqnet.sweep.plan import stack_step_memory
from deqnet.sweep.ray_executor import RayExecutor
from deqnet.sweep.result import CellPictures, SweepCell, SweepGroup, SweepResult
from deqnet.sweep.run import SweepCancelled, sweep

__all__ = [
    "GRID_AXES",
    "GRID_NAMES",
    "SWEEP_CAPS",
    "CellPictures",
    "CellSpec",
    "ChunkResult",
    "Executor",
    "GridAxis",
    "LocalExecutor",
    "RayExecutor",
    "SweepCancelled",
    "SweepCell",
    "SweepGroup",
    "SweepResult",
    "expand_grid",
    "group_cells",
    "stack_step_memory",
    "sweep",
    "unused_setting",
    "validate_grid",
]
