"""torchdiffeq's arguments for a config's solver, and how a solver's failure is reported.

Fixed-step solvers take ``ModelConfig.steps_per_segment`` equal steps per weight segment on an
exact linspace grid. No ``step_size``: a step_size grid can gain a spurious tiny last step from
floating-point rounding. Adaptive solvers get the tolerances and the ``max_num_steps`` bound.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from deqnet.config import ModelConfig


class SolverFailure(RuntimeError):
    """The ODE solver gave up (step-size underflow, step budget exceeded, non-finite state)."""


def explain_solver_failure(err: Exception) -> str:
    """Plain-language reason for a torchdiffeq failure."""
    text = str(err)
    if "underflow" in text:
        return "the adaptive solver's step size shrank to nothing (the flow became too stiff)"
    if "max_num_steps" in text:
        return "the adaptive solver needed more steps than the max-steps bound allows"
    if "non-finite" in text or "nan" in text.lower():
        return "the hidden state became infinite or NaN inside the solver"
    return f"the ODE solver failed ({text})"


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
