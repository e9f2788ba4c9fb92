"""The training engine, shared by ``Trainer``, the live trainer and sweeps.

Modules: step.py (``step_together``, the only training step; ``StepRecord``), evaluate.py
(``evaluate_together``, the only evaluation), keys.py (``stack_key``: which models may share a
step), adam.py (one Adam update for many optimisers). The models' stacked maths is in
``deqnet.models.stack``. Imports neither plotly nor Ray.
"""

from deqnet.engine.evaluate import METRICS, evaluate_together
from deqnet.engine.keys import DataSizes, stack_key, trainer_key
from deqnet.engine.step import StepRecord, step_together

__all__ = [
    "METRICS",
    "DataSizes",
    "StepRecord",
    "evaluate_together",
    "stack_key",
    "step_together",
    "trainer_key",
]
