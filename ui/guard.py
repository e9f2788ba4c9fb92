"""Guards for a shared server: a turn at the CPU for each live tick, and the memory of one step.

One Streamlit process serves every browser session (each script run is a thread) with no
per-session CPU or memory quota, so the app enforces its own:

- a live-training tick trains and draws only while it holds one of the server's CPU slots
  (``ui.slots.busy_turn``, in ``ui.live``); while it waits in line, the page shows
  "Server busy — waiting for a turn…" above its last charts.
- ``memory_problem()``: refuses a configuration whose training step would keep an autograd tape
  larger than ``deqnet.config.STEP_MEMORY_LIMIT`` (estimated before training for fixed-step
  solvers and layers, measured after the first step for an adaptive solver).

Each chunk is also time-boxed by the caller (``Trainer.step(max_seconds=...)``).
"""

from __future__ import annotations

import streamlit as st

from deqnet import StepRecord
from deqnet.config import STEP_MEMORY_LIMIT, step_memory
from ui.state import Session, train_chunk


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


def _refuse(session: Session, problem: str) -> None:
    """Stop live training and rerun the page so its buttons and the message show the state."""
    session.running = False
    session.notes.append(problem)
    st.rerun()


def train_tick(session: Session, max_seconds: float) -> list[StepRecord]:
    """One live-training tick (call it inside ``ui.slots.busy_turn``): check the step's memory,
    then train a time-boxed chunk (``ui.state.train_chunk``). Returns the steps' records."""
    problem = memory_problem(session)
    if problem:
        _refuse(session, problem)
    records = train_chunk(session, max_seconds)
    if records:
        problem = memory_problem(session, records[-1].nfe_forward)
        if problem:
            _refuse(session, problem)
    return records
