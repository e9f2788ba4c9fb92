"""The server's one live trainer: a thread that trains every watched session, off any browser.

Each round it takes the sessions that are running *and* watched (a websocket's visible
:class:`~deqnet.live.mailbox.Mailbox`, or a polling tab's recent tick,
:meth:`LiveTrainer.watch_for`), groups them by ``deqnet.engine.trainer_key`` (exact) and takes one
optimiser step of each group as one stacked computation (``deqnet.engine.step_together``): every
session gets one step per round whatever its group's size, and a session's numbers do not
depend on who else trains.

After a step it posts to the session's mailboxes (every record reaches every watcher) and, when
one is due, a picture: the decision grids of the group's due sessions are one stacked
evaluation; the preview paths (one solve per session) come at most every ``PATHS_SECONDS``,
and at most ``PATHS_PER_SECOND`` server-wide (in a class of 30, every 1.5 s). The grids take at
most about ``PICTURE_SHARE`` of the thread's time, and one session gets at most one every
``FASTEST_PICTURE`` seconds (about the display's rate, for a tab alone), in a class every
``CLASS_PICTURE`` seconds on a coarser grid (``deqnet.live.picture.live_grid_points``).

It stops a session at its step budget, on divergence, when an adaptive solver's measured step
would need more memory than the server allows, or after an unexpected error; the watchers get
the reason (so the page can rerun once and show it).

It holds a group's session locks only while it steps them, and takes only the locks that are
free: a session busy with a script run of its own sits out the round instead of holding up its
group.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

import torch

from deqnet.analysis.grids import DecisionGrid, decision_grid, plot_extent
from deqnet.engine import step_together, trainer_key
from deqnet.live.mailbox import Mailbox, Trainee
from deqnet.live.picture import (
    CLASS_SIZE,
    Picture,
    live_grid_points,
    make_picture,
    stacked_grids,
)
from deqnet.models.base import SolverFailure

_LOG = logging.getLogger("deqnet.live")

PICTURE_SHARE = 0.3
FASTEST_PICTURE = 1 / 30
# In a class (more than CLASS_SIZE sessions training) a session's picture comes at most this
# often: four a second keep the boundary moving, and the time saved trains.
CLASS_PICTURE = 0.25
PATHS_SECONDS = 0.25
PATHS_PER_SECOND = 20.0
# How long the idle thread sleeps before it looks again (a Train click wakes it at once).
IDLE_SECONDS = 1.0
# How long it waits when every session it could train was busy with a script run of its own.
BUSY_SECONDS = 0.01
# For capacity planning and the load test: a CSV file that gets one line per training round,
# "end time, sessions trained, groups, seconds of the round".
TRAIN_LOG = os.environ.get("DEQNET_TRAIN_LOG", "")
CRASH_NOTE = (
    "Training stopped after an unexpected error; your settings and last weights are kept. "
    "(Details are in the server log.)"
)

MemoryCheck = Callable[[Trainee, int], str | None]
Note = Callable[[Trainee, str], None]


class LiveTrainer:
    """The training thread and the register of who watches which session.

    Args:
        memory_problem: ``(trainee, measured NFE) -> reason or None``: whether one step of an
            adaptive solver is too large for the server (checked after each of its steps).
        note: ``(trainee, text)``: a message for the session's page (memory stop, crash).
    """

    def __init__(self, *, memory_problem: MemoryCheck | None = None, note: Note | None = None):
        self._memory_problem = memory_problem
        self._note = note or (lambda trainee, text: None)
        self._changed = threading.Condition()
        self._mailboxes: dict[int, list[Mailbox]] = {}  # id(trainee) -> its watchers
        self._ticked: dict[int, tuple[Trainee, float]] = {}  # id(trainee) -> (it, until)
        self._trainees: dict[int, Trainee] = {}
        self._pictured: dict[int, float] = {}  # id(trainee) -> when its last grid was made
        self._pathed: dict[int, float] = {}  # ... and its last paths
        self._picture_cost = 0.0  # seconds per session's grid, smoothed
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="deqnet-live", daemon=True)
        self._thread.start()

    # ---- who watches ----

    def watch(self, mailbox: Mailbox) -> None:
        """Train ``mailbox.trainee`` (while it runs) and post to ``mailbox`` until unwatched."""
        with self._changed:
            key = id(mailbox.trainee)
            self._trainees[key] = mailbox.trainee
            self._mailboxes.setdefault(key, []).append(mailbox)
            self._changed.notify_all()

    def unwatch(self, mailbox: Mailbox) -> None:
        """The watcher is gone (its socket closed): the session stops training this round."""
        with self._changed:
            key = id(mailbox.trainee)
            boxes = [m for m in self._mailboxes.get(key, []) if m is not mailbox]
            if boxes:
                self._mailboxes[key] = boxes
            else:
                self._mailboxes.pop(key, None)
                self._forget(key)

    def watch_for(self, trainee: Trainee, seconds: float) -> None:
        """A watcher without a mailbox (a tab that polls, ``ui.live``): train for ``seconds``."""
        with self._changed:
            key = id(trainee)
            self._trainees[key] = trainee
            self._ticked[key] = (trainee, time.monotonic() + seconds)
            self._changed.notify_all()

    def wake(self) -> None:
        """Something changed (Train pressed, a tab became visible): look again now."""
        with self._changed:
            self._changed.notify_all()

    def training(self) -> list[Trainee]:
        """The sessions the next round trains: running, watched, not done."""
        now = time.monotonic()
        with self._changed:
            for key, (_, until) in list(self._ticked.items()):
                if until < now:
                    del self._ticked[key]
                    if key not in self._mailboxes:
                        self._forget(key)
            watched = [
                self._trainees[key]
                for key in self._trainees
                if key in self._ticked or any(m.visible for m in self._mailboxes.get(key, ()))
            ]
        return [t for t in watched if t.live.running and not t.budget_reached and not t.diverged]

    def close(self) -> None:
        """End the thread after its current round."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        self._thread.join()

    def _forget(self, key: int) -> None:
        if key not in self._ticked and key not in self._mailboxes:
            self._trainees.pop(key, None)
            self._pictured.pop(key, None)
            self._pathed.pop(key, None)

    def _post(self, trainee: Trainee, picture: Picture | None = None, stopped: str | None = None):
        with self._changed:
            boxes = list(self._mailboxes.get(id(trainee), ()))
        for box in boxes:
            box.post(picture, stopped)

    # ---- rounds ----

    def _run(self) -> None:
        torch.set_num_threads(1)  # this thread's own setting (torch's is per thread)
        while not self._closed:
            trainees = self.training()
            if not trainees:
                with self._changed:
                    self._changed.wait(IDLE_SECONDS)
                continue
            began = time.monotonic()
            groups: dict[object, list[Trainee]] = {}
            for trainee in trainees:
                groups.setdefault(trainer_key(trainee.trainer), []).append(trainee)
            stepped = sum(
                self._step_group(key, members, len(trainees)) for key, members in groups.items()
            )
            if TRAIN_LOG:
                _log_round(len(trainees), len(groups), time.monotonic() - began)
            if not stepped:  # all busy (or just stopped): do not spin on their locks
                with self._changed:
                    self._changed.wait(BUSY_SECONDS)

    def _step_group(self, key: object, members: list[Trainee], training: int) -> int:
        """One stacked step of the members still running with this key whose locks are free,
        then their pictures and stop checks; returns how many were stepped. Never raises."""
        with _free_locks(members) as free:
            stepping = [
                t
                for t in free
                if t.live.running and not t.budget_reached and not t.diverged
                and trainer_key(t.trainer) == key  # a settings change may have rebuilt it
            ]  # fmt: skip
            if not stepping:
                return 0
            try:
                step_together([t.trainer for t in stepping])
                pictures = self._pictures(stepping, training)
            except Exception:
                _LOG.exception("live trainer: a training step failed")
                for trainee in stepping:
                    trainee.live.running = False
                    self._note(trainee, CRASH_NOTE)
                    self._post(trainee, stopped="error")
                return 0
            for trainee in stepping:
                trainee.version += 1
                self._finish(trainee, pictures.get(id(trainee)))
            return len(stepping)

    def _pictures(self, stepping: list[Trainee], training: int) -> dict[int, Picture]:
        """Pictures of the members that are due one (all that stop now are), as one stacked
        evaluation of their grids where the solver allows; by id(trainee)."""
        now = time.monotonic()
        fastest = FASTEST_PICTURE if training <= CLASS_SIZE else CLASS_PICTURE
        interval = max(fastest, training * self._picture_cost / PICTURE_SHARE)
        ages = [now - self._pictured.get(id(t), 0.0) for t in stepping]
        if not any(age >= interval or t.budget_reached or t.diverged
                   for t, age in zip(stepping, ages, strict=True)):  # fmt: skip
            return {}
        # Whoever is half due comes along: one large stacked evaluation costs less per grid
        # than several small ones, and the group's pictures fall into step.
        due = [
            t
            for t, age in zip(stepping, ages, strict=True)
            if age >= interval / 2 or t.budget_reached or t.diverged
        ]
        began = time.monotonic()
        n = live_grid_points(training)
        grids = _grids(due, n)
        # The pacing counts the grids only: the paths are paced server-wide on their own.
        cost = (time.monotonic() - began) / len(due)
        self._picture_cost = (
            cost if not self._picture_cost else 0.8 * self._picture_cost + 0.2 * cost
        )
        pictures = {}
        paths_interval = max(PATHS_SECONDS, training / PATHS_PER_SECOND)
        for trainee, grid in zip(due, grids, strict=True):
            paths = (
                now - self._pathed.get(id(trainee), 0.0) >= paths_interval or trainee.budget_reached
            )
            picture = make_picture(
                trainee.model,
                trainee.data,
                serial=trainee.trainer.serial,
                step=trainee.trainer.steps_done,
                n=n,
                paths=paths,
                grid=grid,
            )
            if paths:
                self._pathed[id(trainee)] = now
            self._pictured[id(trainee)] = now
            pictures[id(trainee)] = picture
        return pictures

    def _finish(self, trainee: Trainee, picture: Picture | None) -> None:
        """Keep and post the picture; stop at the budget, on divergence or over the memory cap."""
        if picture is not None:
            trainee.live.picture = picture
        stopped = None
        if trainee.budget_reached:
            stopped = "budget"
        elif trainee.diverged:
            stopped = "diverged"
        elif trainee.model.config.adaptive and self._memory_problem and trainee.trainer.history:
            problem = self._memory_problem(trainee, trainee.trainer.history[-1].nfe_forward)
            if problem:
                self._note(trainee, problem)
                stopped = "memory"
        if stopped:
            trainee.live.running = False
        self._post(trainee, picture, stopped)


def _grids(due: list[Trainee], n: int) -> list[DecisionGrid | None]:
    """The n x n decision grids of ``due``: one stacked evaluation where the solver allows,
    else one by one; None for a model whose solver fails on its grid."""
    extents = [plot_extent(t.data) for t in due]
    if len(due) > 1 and not due[0].model.config.adaptive and not any(t.diverged for t in due):
        try:
            return stacked_grids([t.model for t in due], extents, n)
        except SolverFailure:  # one by one below: only the failing ones go blank
            pass
    grids: list[DecisionGrid | None] = []
    for trainee, extent in zip(due, extents, strict=True):
        try:
            grids.append(decision_grid(trainee.model, extent, n=n))
        except SolverFailure:
            grids.append(None)
    return grids


def _log_round(sessions: int, groups: int, seconds: float) -> None:
    with open(TRAIN_LOG, "a", encoding="utf-8") as log:
        log.write(f"{time.time():.3f},{sessions},{groups},{seconds:.4f}\n")


@contextmanager
def _free_locks(trainees: list[Trainee]) -> Iterator[list[Trainee]]:
    """Hold the locks of the trainees whose lock is free now; yields those trainees.

    Never waits, so it cannot deadlock with a script thread that holds one lock and wants
    another (a lock is released when the block ends, also on an exception).
    """
    with ExitStack() as stack:
        free = []
        for trainee in trainees:
            if trainee.lock.acquire(blocking=False):
                stack.callback(trainee.lock.release)
                free.append(trainee)
        yield free


__all__ = ["CRASH_NOTE", "LiveTrainer"]
