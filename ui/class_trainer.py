"""One server-wide trainer: a thread that steps every session that is training, off the browser.

Before, each tab trained inside the ticks its browser asked for, so a slow browser slowed its
own training and a class queued all its ticks for the same CPU slots. Now a tab's ticks only
*read*: they mark the session as watched (``touch``) and draw its latest ``Snapshot``. This
thread does the training:

- every round it takes the sessions that are running and were watched in the last
  ``WATCH_SECONDS`` (a closed tab, a tab on another page or a paused one stops costing CPU within
  that time), groups them by ``deqnet.sweep.class_key`` and takes one optimiser step of each
  group as one stacked computation (``deqnet.sweep.step_together``), so every session gets one
  step per round whatever its group's size: fair, and a class of identical links costs little
  more than one session;
- a session's numbers do not depend on who else trains (``step_together`` keeps the stacked
  slices apart bit for bit; depths and adaptive solvers that would mix are keyed apart);
- after a step it makes the session's ``Picture`` (decision grid and preview paths) when one is
  due, so a tick only sends what is already computed: pictures take at most about
  ``PICTURE_SHARE`` of the thread's time, as often as ten times a second for one session and
  less often in a class;
- it stops a session at its step budget, on divergence, or when an adaptive solver's measured
  step would need more memory than the server allows.

The thread holds the locks of a group's sessions only while it steps them; the script threads
that change a session (Step, Reset, settings, uploads) take the same lock (``Session.lock``).
It takes only the locks that are free: a session whose own script run holds its lock sits out
this round instead of holding up the whole group (when a class pressed Train at once, rounds
that waited for lock after lock took seconds).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import streamlit as st
import torch
from streamlit.runtime import Runtime

from deqnet.sweep import class_key, step_together
from ui.budget import memory_problem
from ui.state import LIVE_GRID_POINTS, Session, make_picture, note

_LOG = logging.getLogger("deqnet.ui")

# A session whose tab has not ticked for this long (at least; three ticks in a class, whose
# tabs tick less often) is not trained any more. A closed tab stops at once (its connection is
# gone), and so does a tab that opens another page (``leave``).
WATCH_SECONDS = 2.0
# ... and is forgotten (the server may have dropped its tab) after this long.
FORGET_SECONDS = 30.0
# One tab alone ticks 10 times a second (measured with bench/app_live.py on this 2-core machine,
# browser and server together: 8.1 Step updates a second on screen at 0.1 s, 6.8 at 0.15 s, and
# no slower to 95 %; a faster tick would only cost the trainer time). Every tick is a script
# run that costs the server Python time (the GIL) its trainer then lacks, and a server that
# cannot finish a tab's ticks before the next one is asked for drops their output: so in a class
# each tab ticks less often, and the server runs about TICKS_PER_SECOND_SERVER ticks a second.
FASTEST_TICK = 0.1
SLOWEST_TICK = 4.0
TICKS_PER_SECOND_SERVER = 8.0
# Pictures take at most about this share of the thread's time; one session gets at most one
# every FASTEST_PICTURE seconds (one per tick of a tab alone; in a class the share decides).
PICTURE_SHARE = 0.3
FASTEST_PICTURE = 0.1
# How long the idle thread sleeps before it looks again (a Train click wakes it at once).
IDLE_SECONDS = 1.0
# How long it waits when every session it could train was busy with a script run of its own.
BUSY_SECONDS = 0.01
# For capacity planning and tests/test_load.py: a CSV file that gets one line per training
# round, "end time, sessions trained, groups, seconds of the round".
TRAIN_LOG = os.environ.get("DEQNET_TRAIN_LOG", "")
CRASH_NOTE = (
    "Training stopped after an unexpected error; your settings and last weights are kept. "
    "(Details are in the server log.)"
)


class ClassTrainer:
    """The server's training thread and the register of sessions that want training."""

    def __init__(self) -> None:
        self._seen: dict[int, tuple[Session, float]] = {}
        self._changed = threading.Condition()
        self._pictured: dict[int, float] = {}  # session id -> when its last picture was made
        self._picture_cost = 0.0  # seconds per picture, smoothed
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="deqnet-trainer", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """End the thread after its current round (the server's lives as long as the process)."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        self._thread.join()

    def touch(self, session: Session, connection: str | None = None) -> None:
        """The session's tab is watching: train it (while ``session.live.running``) for a while.

        ``connection``: the Streamlit session id of the tab; once it disconnects, training
        stops in the next round.
        """
        with self._changed:
            self._seen[id(session)] = (session, time.monotonic(), connection)
            self._changed.notify_all()

    def leave(self, session: Session) -> None:
        """The session's tab shows another page now: stop training it."""
        with self._changed:
            self._seen.pop(id(session), None)

    def tick_seconds(self) -> float:
        """Seconds between two ticks of a tab, for the number of sessions training now."""
        return tick_for(self.training_count())

    def training_count(self) -> int:
        """How many sessions are being trained now (the tabs' tick rate adapts to it)."""
        return len(self._training())

    def is_training(self, session: Session) -> bool:
        """Whether ``session`` is in this round's training (running and watched)."""
        return any(s is session for s in self._training())

    def _training(self) -> list[Session]:
        """Sessions running, watched recently and still connected; forgets the others."""
        now = time.monotonic()
        with self._changed:
            running = [s for s, _, _ in self._seen.values() if s.live.running]
            # Three missed ticks at the class's tick rate (the rate the tabs were given).
            watch = max(WATCH_SECONDS, 3 * tick_for(len(running)))
            for key, (_, seen, connection) in list(self._seen.items()):
                if now - seen > FORGET_SECONDS or not _connected(connection):
                    del self._seen[key]
                    self._pictured.pop(key, None)
            return [
                s
                for s, seen, _ in self._seen.values()
                if s.live.running and now - seen <= watch and not s.budget_reached
            ]

    def _run(self) -> None:
        torch.set_num_threads(1)  # this thread's own setting (torch's is per thread)
        while not self._closed:
            sessions = self._training()
            if not sessions:
                with self._changed:
                    self._changed.wait(IDLE_SECONDS)
                continue
            began = time.monotonic()
            groups: dict[object, list[Session]] = {}
            for session in sessions:
                groups.setdefault(class_key(session.trainer), []).append(session)
            stepped = sum(
                self._step_group(key, members, len(sessions)) for key, members in groups.items()
            )
            if TRAIN_LOG:
                _log_round(len(sessions), len(groups), time.monotonic() - began)
            if not stepped:  # all busy (or just stopped): do not spin on their locks
                with self._changed:
                    self._changed.wait(BUSY_SECONDS)

    def _step_group(self, key: object, members: list[Session], training: int) -> int:
        """One stacked step of the members still running with this key whose locks are free;
        returns how many were stepped. Never raises."""
        with _free_locks(members) as free:
            stepping = [
                s
                for s in free
                if s.live.running and not s.budget_reached and not s.diverged
                and class_key(s.trainer) == key  # a settings change may have rebuilt it
            ]  # fmt: skip
            if not stepping:
                return 0
            try:
                step_together([s.trainer for s in stepping])
            except Exception:
                _LOG.exception("class trainer: a training step failed")
                for session in stepping:
                    session.live.running = False
                    note(session, CRASH_NOTE)
                return 0
            for session in stepping:
                self._after_step(session, training)
            return len(stepping)

    def _after_step(self, session: Session, training: int) -> None:
        """Picture when due; stop at the budget, on divergence or over the memory cap."""
        session.version += 1
        now = time.monotonic()
        interval = max(FASTEST_PICTURE, training * self._picture_cost / PICTURE_SHARE)
        stopping = session.budget_reached or session.diverged
        if stopping or now - self._pictured.get(id(session), 0.0) >= interval:
            session.live.picture = make_picture(session, LIVE_GRID_POINTS)
            cost = time.monotonic() - now
            self._picture_cost = (
                cost if not self._picture_cost else 0.8 * self._picture_cost + 0.2 * cost
            )
            self._pictured[id(session)] = time.monotonic()
        if stopping:
            session.live.running = False
            return
        history = session.trainer.history
        if session.model.config.adaptive and history:
            problem = memory_problem(session, history[-1].nfe_forward)
            if problem:
                session.live.running = False
                note(session, problem)


def tick_for(sessions: int) -> float:
    """Seconds between two ticks of a tab when ``sessions`` sessions train on the server."""
    return min(SLOWEST_TICK, max(FASTEST_TICK, sessions / TICKS_PER_SECOND_SERVER))


def _connected(connection: str | None) -> bool:
    """Whether the tab with this Streamlit session id is still connected (True if unknown)."""
    if connection is None or not Runtime.exists():
        return True
    return Runtime.instance().is_active_session(connection)


def _log_round(sessions: int, groups: int, seconds: float) -> None:
    with open(TRAIN_LOG, "a", encoding="utf-8") as log:
        log.write(f"{time.time():.3f},{sessions},{groups},{seconds:.4f}\n")


@contextmanager
def _free_locks(sessions: list[Session]) -> Iterator[list[Session]]:
    """Hold the locks of the sessions whose lock is free now; yields those sessions.

    Never waits, so it cannot deadlock with a script thread that holds one lock and wants
    another (a session's lock is released when the block ends, also on an exception).
    """
    with ExitStack() as stack:
        free = []
        for session in sessions:
            if session.lock.acquire(blocking=False):
                stack.callback(session.lock.release)
                free.append(session)
        yield free


@st.cache_resource(show_spinner=False)
def class_trainer() -> ClassTrainer:
    """The server's one ClassTrainer (``st.cache_resource``: the same object for every session)."""
    return ClassTrainer()
