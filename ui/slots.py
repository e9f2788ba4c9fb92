"""Server-wide CPU slots: at most ``max_trainings()`` sessions compute at once, served in order.

One Streamlit process serves every browser session (each script run is a thread). Training and
drawing are Python-heavy, so every thread that computes also competes for the GIL with the
server's event loop: with a class of 20 tabs training at once on two cores, an unlimited server
answered neither websocket messages nor its health check for over 10 s. Work that a page runs in
its own script thread therefore computes only while it holds a slot; the others wait on a
condition variable, which costs no CPU and no GIL, and are served first come, first served, so
no tab starves. (Live training does not take slots: the server's one trainer thread,
``ui.live_trainer``, trains every session that is training.)

Every script run itself (a page run, a click, a polling tick) also takes one of ``max_runs()``
*run turns* (``run_turn``), in a separate line: when a class presses Train at once, thirty
script threads would otherwise share the GIL with the event loop and the trainer thread, each
getting a thirtieth of it (measured: the health check took 4.4 s and the trainer's first round 6 s);
waiting for a turn costs neither CPU nor the GIL, and the same runs finish in the same total
time, in order. A run that holds a turn may then wait for a slot, never the other way round,
so the two lines cannot deadlock.

- ``training_slot(wait)``: one attempt (up to ``wait`` seconds) — for work a user starts and can
  start again (a sweep and the trials that estimate its time).
- ``queued_slot(on_wait)``: wait in line as long as it takes, calling ``on_wait()`` every
  ``WAIT_SECONDS`` (to show a notice; each Streamlit call there is also where a closed tab stops
  the run); ``busy_turn(notice)`` is that with the busy notice, for quick training.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

BUSY_TEXT = "Server busy — waiting for a turn…"
ENV_MAX_TRAININGS = "DEQNET_MAX_TRAININGS"
# Script runs computing at once per training slot: with two slots, two runs can wait for quick
# training (holding their turns) while two others still draw.
RUNS_PER_SLOT = 2
# How long a waiting tab sleeps between notices: short enough that Pause still feels instant.
WAIT_SECONDS = 0.5


def max_trainings() -> int:
    """How many sessions may compute at once: $DEQNET_MAX_TRAININGS, else max(2, CPU cores).

    Torch runs single-threaded here, so one session keeps one core busy; set the variable when a
    container's CPU quota is smaller than the cores it can see.
    """
    text = os.environ.get(ENV_MAX_TRAININGS, "").strip()
    if text.isdigit() and int(text) >= 1:
        return int(text)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(2, cores or 1)


def max_runs() -> int:
    """How many script runs may compute at once (``run_turn``)."""
    return RUNS_PER_SLOT * max_trainings()


class Slots:
    """``count`` slots handed out in arrival order (a FIFO queue of tickets).

    A ticket keeps its place across timed-out waits, so a tab that shows a notice between waits
    is not sent to the back of the line.
    """

    def __init__(self, count: int) -> None:
        self._free = count
        self._line: deque[object] = deque()
        self._changed = threading.Condition()

    def enter(self) -> object:
        """Join the line; returns the ticket to wait with."""
        ticket = object()
        with self._changed:
            self._line.append(ticket)
        return ticket

    def wait(self, ticket: object, timeout: float | None) -> bool:
        """Wait up to ``timeout`` s (None: as long as it takes) for a slot; True when this
        ticket now holds one."""
        with self._changed:
            if not self._changed.wait_for(
                lambda: self._free > 0 and self._line[0] is ticket, timeout
            ):
                return False
            self._line.popleft()
            self._free -= 1
            self._changed.notify_all()  # the next in line may take another free slot
            return True

    def leave(self, ticket: object, granted: bool) -> None:
        """Give the slot back (``granted``) or leave the line without one."""
        with self._changed:
            if granted:
                self._free += 1
            elif ticket in self._line:
                self._line.remove(ticket)
            self._changed.notify_all()


@st.cache_resource(show_spinner=False)
def server_slots(count: int) -> Slots:
    """The one set of slots every session shares (cache_resource: the same object for all)."""
    return Slots(count)


@st.cache_resource(show_spinner=False)
def server_run_turns(count: int) -> Slots:
    """The server's one line of run turns (a separate object from ``server_slots``)."""
    return Slots(count)


@contextmanager
def _waiting_in_line(slots: Slots, on_wait: Callable[[], None] | None) -> Iterator[None]:
    """Hold one of ``slots`` for the block, waiting in line as long as it takes; ``on_wait()``
    runs every ``WAIT_SECONDS`` meanwhile (None: wait without a break). If ``on_wait``
    raises, the ticket leaves the line and the exception propagates."""
    ticket = slots.enter()
    granted = False
    try:
        if on_wait is None:
            granted = slots.wait(ticket, None)
        else:
            while not (granted := slots.wait(ticket, WAIT_SECONDS)):
                on_wait()
        yield
    finally:
        slots.leave(ticket, granted)


def run_turn() -> AbstractContextManager[None]:
    """Hold a run turn for the block (a whole script run), waiting in line as long as it takes.

    The wait is short (the runs ahead are page runs and ticks, which take a fraction of a
    second, or quick training, which is time-boxed) and is not interrupted: a rerun requested
    meanwhile stops this run at its first Streamlit call after the wait.
    """
    return _waiting_in_line(server_run_turns(max_runs()), None)


@contextmanager
def training_slot(wait: float = WAIT_SECONDS) -> Iterator[bool]:
    """Try for up to ``wait`` s to hold a slot for the block; yields whether one was granted.

    Do not compute when it yields False. The slot is released when the block ends, also on an
    exception or a rerun.
    """
    slots = server_slots(max_trainings())
    ticket = slots.enter()
    granted = False
    try:
        granted = slots.wait(ticket, wait)
        yield granted
    finally:
        slots.leave(ticket, granted)


def queued_slot(on_wait: Callable[[], None]) -> AbstractContextManager[None]:
    """Hold a slot for the block, waiting in line for it; ``on_wait()`` runs between waits.

    If ``on_wait`` raises (Streamlit stopping the run for a rerun or a closed tab), the ticket
    leaves the line and the exception propagates.
    """
    return _waiting_in_line(server_slots(max_trainings()), on_wait)


@contextmanager
def busy_turn(notice: DeltaGenerator | None = None) -> Iterator[None]:
    """``queued_slot`` that shows ``BUSY_TEXT`` while waiting and clears it when the turn comes.

    ``notice``: an ``st.empty()`` placeholder for the notice. Without one, a placeholder is
    made only if this turn has to wait, so an uncontended run adds no element to the page.
    """
    shown = [notice]

    def show_busy() -> None:
        if shown[0] is None:
            shown[0] = st.empty()
        shown[0].info(BUSY_TEXT, icon=":material/hourglass_top:")

    with queued_slot(show_busy):
        if shown[0] is not None:
            shown[0].empty()
        yield
