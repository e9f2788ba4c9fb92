"""What one watcher of a live training has not seen yet: the newest picture, every record.

The trainer thread posts into a :class:`Mailbox` after each step; the watcher (a websocket's
sender on the server's event loop) takes one :class:`Update` whenever it can send. A reader that
falls behind never builds a queue: an unsent picture is replaced by a newer one. History records
are not copied into the mailbox at all: :meth:`Mailbox.take` reads them from the trainer's own
append-only history, from the first one this watcher has not had, so none is ever lost however
many pictures are dropped, and memory stays flat while a reader stalls.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from deqnet.datasets import Dataset
    from deqnet.live.picture import Picture
    from deqnet.models.base import DeqModel
    from deqnet.training import StepRecord, Trainer


@dataclass(eq=False)
class LiveState:
    """One session's live training.

    Attributes:
        running: True while the session wants training (Train pressed, not yet paused or
            stopped); the trainer steps it only while someone also watches.
        picture: the newest picture the trainer made while training.
    """

    running: bool = False
    picture: Picture | None = None


class Trainee(Protocol):
    """What the live trainer needs of a session (``ui.state.Session`` is one).

    ``lock`` is held while the weights change; ``trainer`` and ``model`` may be replaced (Reset,
    a settings change) under it, which starts a new history (a new ``trainer.serial``).
    """

    lock: threading.Lock
    trainer: Trainer
    model: DeqModel
    data: Dataset
    live: LiveState
    version: int

    @property
    def budget(self) -> int: ...

    @property
    def budget_reached(self) -> bool: ...

    @property
    def diverged(self) -> bool: ...


@dataclass(frozen=True)
class Update:
    """What a watcher is sent in one frame.

    Attributes:
        serial: the ``Trainer.serial`` the records belong to.
        start: index in that history of ``records[0]``; 0 with ``reset`` (curves start afresh).
        reset: the history is new to this watcher (first frame, or a new Trainer).
        records: the records the watcher has not had, in order.
        history: the whole history at this moment (for the metrics of the newest steps).
        picture: the newest picture not yet sent, or None.
        running: whether the session is training.
        stopped: why the trainer stopped the session since the last update ("budget",
            "diverged", "memory", "error"), or None.
        budget: the step budget.
        message: the trainer's divergence message ("" while ok).
        task: the trainee's data: "classification" or "regression" (R² in the metrics).
    """

    serial: int
    start: int
    reset: bool
    records: list[StepRecord]
    history: list[StepRecord]
    picture: Picture | None
    running: bool
    stopped: str | None
    budget: int
    message: str
    task: str = "classification"


class Mailbox:
    """One watcher's view of one trainee (see the module docstring); thread-safe.

    Args:
        trainee: the session watched.
        wake: called (from the posting thread) when the mailbox goes from empty to holding
            something, e.g. ``lambda: loop.call_soon_threadsafe(event.set)``; it must not block.
    """

    def __init__(self, trainee: Trainee, wake: Callable[[], None]) -> None:
        self.trainee = trainee
        self.visible = True
        self._wake = wake
        self._lock = threading.Lock()
        self._pending = True  # a new watcher is owed the whole history
        self._picture: Picture | None = trainee.live.picture
        self._stopped: str | None = None
        self._serial: int | None = None
        self._sent = 0

    def post(self, picture: Picture | None = None, stopped: str | None = None) -> None:
        """New records (always), and a newer picture or a stop reason if given."""
        with self._lock:
            if picture is not None:
                self._picture = picture
            if stopped is not None:
                self._stopped = stopped
            wake, self._pending = not self._pending, True
        if wake:
            self._wake()

    def resend(self) -> None:
        """Send the whole history again with the next update (the browser lost track)."""
        with self._lock:
            self._serial = None
        self.post()

    def take(self) -> Update | None:
        """Everything new since the last call, or None if nothing is."""
        with self._lock:
            if not self._pending:
                return None
            self._pending = False
            picture, self._picture = self._picture, None
            stopped, self._stopped = self._stopped, None
            trainer = self.trainee.trainer
            history = trainer.history[:]  # one consistent copy: the trainer thread appends
            reset = trainer.serial != self._serial
            start = 0 if reset else min(self._sent, len(history))
            self._serial, self._sent = trainer.serial, len(history)
        return Update(
            serial=trainer.serial,
            start=start,
            reset=reset,
            records=history[start:],
            history=history,
            picture=picture,
            running=self.trainee.live.running,
            stopped=stopped,
            budget=self.trainee.budget,
            message=trainer.message,
            task=trainer.data.task,
        )


__all__ = ["LiveState", "Mailbox", "Trainee", "Update"]
