"""Lesson models a page trains for itself, next to the session's one model (``ui.state``).

The Topology page compares three lesson presets side by side and never uses the session's model.
Each is trained on demand toward its preset's step budget, in short chunks that take their turn at
the CPU (``ui.slots.training_slot``) within one time box per page run, and is kept for the
browser session; pictures of it are memoised per number of steps trained.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from deqnet import PRESETS, RunConfig, Trainer, build_model
from ui.slots import training_slot

_STATE_KEY = "lesson_models"
# One chunk of training: the page stays interruptible (a rerun or a closed tab) in between.
CHUNK_SECONDS = 0.5


@dataclass(eq=False)
class LessonModel:
    """One lesson preset's model, trained on demand and kept for the session.

    Attributes:
        run: the preset's configuration the model was built from.
        trainer: its Trainer (model, data, history, status).
        views: what a page last computed for it (``view``), with the steps it was computed at.
    """

    run: RunConfig
    trainer: Trainer
    views: dict[str, Any] = field(default_factory=dict)

    @property
    def steps_done(self) -> int:
        return self.trainer.steps_done

    @property
    def done(self) -> bool:
        """Trained to the preset's step budget, or stopped by a divergence."""
        return self.trainer.status != "ok" or self.steps_done >= self.run.train.train_steps


def lesson_models(names: Sequence[str]) -> dict[str, LessonModel]:
    """The models of the presets ``names`` for this browser session, rebuilt (untrained) only
    when a preset's configuration changed."""
    store: dict[str, LessonModel] = st.session_state.setdefault(_STATE_KEY, {})
    for name in names:
        run = PRESETS[name].run
        if name not in store or store[name].run != run:
            data = run.data.make()
            model = build_model(run.model, data.n_classes, seed=run.train.seed)
            store[name] = LessonModel(run, Trainer(model, data, run.train))
    return {name: store[name] for name in names}


def train_lesson_models(models: dict[str, LessonModel], seconds: float, what: str) -> None:
    """Train the unfinished ``models`` in turns of about ``CHUNK_SECONDS`` for at most about
    ``seconds``, with a progress bar labelled ``what``; a turn the server cannot grant is skipped
    (the models keep their steps; the next page run goes on)."""
    waiting = [m for m in models.values() if not m.done]
    if not waiting:
        return
    total = sum(m.run.train.train_steps for m in models.values())
    bar = st.progress(0.0, text=f"{what}…")
    deadline = time.monotonic() + seconds
    while waiting and time.monotonic() < deadline:
        for item in waiting:
            with training_slot() as granted:
                if granted:
                    left = item.run.train.train_steps - item.steps_done
                    item.trainer.step(left, max_seconds=CHUNK_SECONDS)
        done = sum(min(m.steps_done, m.run.train.train_steps) for m in models.values())
        bar.progress(done / total, text=f"{what}… {done}/{total} steps")
        waiting = [m for m in waiting if not m.done]
    bar.empty()


def view(item: LessonModel, compute) -> dict[str, Any]:
    """``compute(item)`` (a dict of pictures and numbers) memoised per number of steps trained."""
    if item.views.get("steps") != item.steps_done:
        item.views = {"steps": item.steps_done, **compute(item)}
    return item.views


__all__ = ["LessonModel", "lesson_models", "train_lesson_models", "view"]
