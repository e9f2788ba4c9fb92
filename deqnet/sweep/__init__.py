"""Hyperparameter sweeps trained as one batched computation: ``sweep(data, model, train, grid)``.

Modules: grid.py (names, caps, cells, groups), batched.py (M models as stacked tensors),
group.py (``step_together``: one batched step of many Trainers; ``class_key``: which
Trainers may share it), result.py, run.py (``sweep``).
"""

from deqnet.sweep.grid import BATCHED_NAMES, GRID_NAMES, GROUPED_NAMES, SWEEP_CAPS
from deqnet.sweep.group import class_key, step_together
from deqnet.sweep.result import SweepCell, SweepGroup, SweepResult
from deqnet.sweep.run import sweep

__all__ = [
    "BATCHED_NAMES",
    "GRID_NAMES",
    "GROUPED_NAMES",
    "SWEEP_CAPS",
    "SweepCell",
    "SweepGroup",
    "SweepResult",
    "class_key",
    "step_together",
    "sweep",
]
