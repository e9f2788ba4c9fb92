"""The server's memory budget for one training step (a single model's, or a sweep's batch).

One Streamlit process serves every browser session with no per-session memory quota, so a
configuration whose training step would keep an autograd tape larger than
``deqnet.config.STEP_MEMORY_LIMIT`` is refused before it trains. Fixed-step solvers and layers
are estimated in advance; an adaptive solver is measured after its first step (the server's
trainer, ``deqnet.live.LiveTrainer``, checks that one).
"""

from __future__ import annotations

from deqnet.config import STEP_MEMORY_LIMIT, step_memory
from deqnet.sweep.grid import CellSpec
from deqnet.sweep.plan import stack_step_memory
from ui.state import Session


def _too_large(subject: str, step: str, need: int, advice: str) -> str | None:
    """The refusal of a step that needs ``need`` bytes, or None within the limit."""
    if need <= STEP_MEMORY_LIMIT:
        return None
    return (
        f"{subject} is too large for the shared server: {step} would hold about "
        f"{need / 2**20:,.0f} MB, and the limit is {STEP_MEMORY_LIMIT / 2**20:,.0f} MB. "
        f"Use {advice}."
    )


def memory_problem(session: Session, evaluations: int | None = None) -> str | None:
    """Why one training step of this session is too large for the server, or None.

    ``evaluations``: the measured NFE of a step (adaptive solvers cannot be estimated before).
    """
    need = step_memory(session.run, session.data.n_train, evaluations)
    if need is None:
        return None
    advice = (
        "fewer points or a mini-batch, fewer solver steps or layers, a smaller width, or the "
        "adjoint method"
    )
    return _too_large("This setup", "one training step", need, advice)


def sweep_memory_problem(cells: list[CellSpec]) -> str | None:
    """Why one batched step of a sweep's largest group is too large for the server, or None."""
    advice = (
        "fewer cells, fewer points or a mini-batch, fewer solver steps or layers, or a smaller "
        "width"
    )
    return _too_large("This grid", "one batched step", stack_step_memory(cells), advice)
