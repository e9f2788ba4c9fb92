"""Guards for a shared server: a cap on concurrent training and on the memory of one step.

One Streamlit process serves every browser session (each script run is a thread) with no
per-session CPU or memory quota, so the app enforces its own:

- ``training_slot()``: a server-wide ``threading.BoundedSemaphore`` (one object for all sessions,
  from ``st.cache_resource``) admits at most ``max_trainings()`` training chunks at once. A tick
  that finds no free slot shows "Server busy — retrying…" and tries again on the next tick.
- ``memory_problem()``: refuses a configuration whose training step would keep an autograd tape
  larger than ``deqnet.config.STEP_MEMORY_LIMIT`` (estimated before training for fixed-step
  solvers and layers, measured after the first step for an adaptive solver).

Each chunk is also time-boxed by the caller (``Trainer.step(max_seconds=...)``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from deqnet import StepRecord
from deqnet.config import STEP_MEMORY_LIMIT, step_memory
from ui.state import Session, train_chunk

BUSY_TEXT = "Server busy — retrying…"
# A tick waits this long for a slot (waiters are served roughly first come, first served, so no
# session starves) before showing the busy notice; short enough that Pause still feels instant.
WAIT_SECONDS = 0.5
ENV_MAX_TRAININGS = "DEQNET_MAX_TRAININGS"


def max_trainings() -> int:
    """How many training chunks may run at once: $DEQNET_MAX_TRAININGS, else max(2, CPU cores).

    Torch runs single-threaded here, so one chunk keeps one core busy; set the variable when a
    container's CPU quota is smaller than the cores it can see.
    """
    text = os.environ.get(ENV_MAX_TRAININGS, "").strip()
    if text.isdigit() and int(text) >= 1:
        return int(text)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(2, cores or 1)


@st.cache_resource(show_spinner=False)
def _slots(count: int) -> threading.BoundedSemaphore:
    """The one semaphore every session shares (cache_resource: the same object for all)."""
    return threading.BoundedSemaphore(count)


@contextmanager
def training_slot(wait: float = WAIT_SECONDS) -> Iterator[bool]:
    """Hold one of the server's training slots for the block.

    Yields True when a slot was free within ``wait`` seconds, False otherwise (then do not
    train). The slot is released when the block ends, also on an exception or a rerun.
    """
    slots = _slots(max_trainings())
    granted = slots.acquire(timeout=wait)
    try:
        yield granted
    finally:
        if granted:
            slots.release()


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
    """One live-training tick: check the step's memory, wait for a slot, train a time-boxed
    chunk (``ui.state.train_chunk``). Returns the records of the steps taken (none if busy)."""
    problem = memory_problem(session)
    if problem:
        _refuse(session, problem)
    with training_slot() as granted:
        if not granted:
            st.info(BUSY_TEXT, icon=":material/hourglass_top:")
            return []
        records = train_chunk(session, max_seconds)
    if records:
        problem = memory_problem(session, records[-1].nfe_forward)
        if problem:
            _refuse(session, problem)
    return records
