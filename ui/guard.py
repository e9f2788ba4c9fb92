"""The memory of one training step, guarded for a shared server.

One Streamlit process serves every browser session with no per-session memory quota, so
``memory_problem()`` refuses a configuration whose training step would keep an autograd tape
larger than ``deqnet.config.STEP_MEMORY_LIMIT`` (estimated before training for fixed-step
solvers and layers, measured after the first step for an adaptive solver: the server's trainer,
``ui.class_trainer``, checks that one). CPU is shared by the trainer thread and by the slots of
``ui.slots`` (quick training, the sweep, lesson models).
"""

from __future__ import annotations

from deqnet.config import STEP_MEMORY_LIMIT, step_memory
from ui.state import Session


def memory_problem(session: Session, evaluations: int | None = None) -> str | None:
    """Why one training step of this session is too large for the server, or None.

    ``evaluations``: the measured NFE of a step (adaptive solvers cannot be estimated before).
    """
    need = step_memory(session.run, session.data.n_train, evaluations)
    if need is None or need <= STEP_MEMORY_LIMIT:
        return None
    return (
        f"This setup is too large for the shared server: one training step would hold about "
        f"{need / 2**20:,.0f} MB, and the limit is {STEP_MEMORY_LIMIT / 2**20:,.0f} MB. Use "
        "fewer points or a mini-batch, fewer solver steps or layers, a smaller width, or the "
        "adjoint method."
    )
