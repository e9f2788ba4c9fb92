"""Lesson models a page shows beside the session's one model (``ui.state``).

The Topology page compares three lesson presets side by side and never uses the session's model.
Each preset's model is trained once per server, to its preset's step budget, and kept in the
server-wide cache (``ui.shared_cache``): the first session to open the page trains them (in its
turn at the CPU, ``ui.slots``), every later one gets them at once, and so do their pictures
(``view``). A session reads a copy, so the cached one is never touched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from deqnet import PRESETS, RunConfig, Trainer, build_model
from ui.shared_cache import digest, shared_cache
from ui.slots import busy_turn

# The presets the Topology page compares side by side (a 2-D flow, a coarse fold, a lift to 3-D).
TOPOLOGY_LESSONS = ("rings-2d", "rings-coarse-fold", "rings-augmented")


@dataclass(eq=False)
class LessonModel:
    """One lesson preset's model.

    Attributes:
        name: the preset's name.
        run: the preset's configuration the model was built from.
        trainer: its Trainer (model, data, history, status): this session's copy.
    """

    name: str
    run: RunConfig
    trainer: Trainer

    @property
    def steps_done(self) -> int:
        return self.trainer.steps_done

    @property
    def done(self) -> bool:
        """Trained to the preset's step budget, or stopped by a divergence."""
        return self.trainer.status != "ok" or self.steps_done >= self.run.train.train_steps

    @property
    def key(self) -> tuple[str, str, int, str]:
        """What determines the model: the preset, its configuration, its steps and status."""
        return (self.name, digest(self.run.to_dict()), self.steps_done, self.trainer.status)


def _trained_key(name: str) -> tuple[str, str, str]:
    """The shared cache's key of preset ``name``'s trained model."""
    return ("lesson", name, digest(PRESETS[name].run.to_dict()))


def _untrained(run: RunConfig) -> Trainer:
    data = run.data.make()
    return Trainer(build_model(run.model, data.n_classes, seed=run.train.seed), data, run.train)


def lesson_models(names: Sequence[str]) -> dict[str, LessonModel]:
    """The models of the presets ``names``: trained if the server has trained them, else
    untrained until :func:`train_lesson_models`."""
    models = {}
    for name in names:
        run = PRESETS[name].run
        trained = shared_cache().peek(_trained_key(name))
        trainer = _untrained(run) if trained is None else trained.copy()
        models[name] = LessonModel(name, run, trainer)
    return models


def trained_lesson(name: str, seconds: float) -> Trainer:
    """Preset ``name``'s model trained to its step budget: the server's one copy (the first
    caller trains it, in its turn at the CPU and for at most about ``seconds``; a model the time
    box cut short is returned but not kept). Do not train the result: copy it."""
    run = PRESETS[name].run
    budget = run.train.train_steps

    def train() -> Trainer:
        trainer = _untrained(run)
        with busy_turn():
            trainer.step(budget, max_seconds=seconds)
        return trainer

    def complete(trainer: Trainer) -> bool:
        return trainer.status != "ok" or trainer.steps_done >= budget

    return shared_cache().get(_trained_key(name), train, keep=complete)


def train_lesson_models(models: dict[str, LessonModel], seconds: float, what: str) -> None:
    """Give the unfinished ``models`` the server's trained ones (:func:`trained_lesson`),
    training those nobody has trained yet in at most about ``seconds`` in all, with a progress
    bar labelled ``what``."""
    waiting = [item for item in models.values() if not item.done]
    if not waiting:
        return
    bar = st.progress(0.0, text=f"{what}…")
    for done, item in enumerate(waiting, start=1):
        item.trainer = trained_lesson(item.name, seconds / len(waiting)).copy()
        bar.progress(done / len(waiting), text=f"{what}… {done}/{len(waiting)}")
    bar.empty()


def view(item: LessonModel, compute: Callable[[LessonModel], dict[str, Any]]) -> dict[str, Any]:
    """``compute(item)`` (a dict of pictures and numbers), shared by every session that shows
    the same model (``compute`` must depend on the model only; do not mutate the result)."""
    return shared_cache().get(("lesson-view", *item.key), lambda: compute(item))


__all__ = [
    "TOPOLOGY_LESSONS",
    "LessonModel",
    "lesson_models",
    "train_lesson_models",
    "trained_lesson",
    "view",
]
