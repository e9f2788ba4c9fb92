"""torchdiffeq's arguments for a config's solver: one rule for a lone model and the sweep's batch.

Fixed-step solvers take ``ModelConfig.steps_per_segment`` equal steps per weight segment on an
exact linspace grid. No ``step_size``: a step_size grid can gain a spurious tiny last step from
floating-point rounding. Adaptive solvers get the tolerances and the ``max_num_steps`` bound.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from deqnet.config import ModelConfig


def solver_kwargs(
    config: ModelConfig, *, norm: Callable[[torch.Tensor], torch.Tensor] | None = None
) -> dict[str, Any]:
    """Keyword arguments of ``odeint`` for one weight segment of ``config``'s flow.

    ``norm``: an adaptive solver's error norm (torchdiffeq's RMS norm if None); fixed-step
    solvers have no error test and ignore it.
    """
    if config.adaptive:
        options: dict[str, Any] = {"max_num_steps": config.max_steps}
        if norm is not None:
            options["norm"] = norm
        return {
            "method": config.solver,
            "rtol": config.rtol,
            "atol": config.atol,
            "options": options,
        }
    n = config.steps_per_segment
    return {
        "method": config.solver,
        "options": {
            "grid_constructor": lambda f, y0, t: torch.linspace(
                float(t[0]), float(t[-1]), n + 1, dtype=t.dtype
            )
        },
    }
