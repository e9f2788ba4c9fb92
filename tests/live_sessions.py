"""A session as the live trainer sees it (``deqnet.live.Trainee``), without Streamlit."""

from __future__ import annotations

import threading

import deqnet
from deqnet.live import LiveState


class LiveSession:
    """Data, model and trainer of ``run``, with the lock, switch and counters of a session."""

    def __init__(self, run: deqnet.RunConfig) -> None:
        self.run = run
        self.lock = threading.Lock()
        self.data = run.data.make()
        self.model = deqnet.build_model(run.model, self.data.n_classes, seed=run.train.seed)
        self.trainer = deqnet.Trainer(self.model, self.data, run.train)
        self.live = LiveState()
        self.version = 0
        self.notes: list[str] = []

    @property
    def budget(self) -> int:
        return self.run.train.train_steps

    @property
    def steps_done(self) -> int:
        return self.trainer.steps_done

    @property
    def budget_reached(self) -> bool:
        return self.trainer.steps_done >= self.budget

    @property
    def diverged(self) -> bool:
        return self.trainer.status != "ok"
