"""The Digits page's own model, kept per browser session (apart from the 2-D Session).

The page trains a conv net on the digits; nothing of it is in the sidebar, the URL or the 2-D
model. One ``DigitsSession`` per browser session lives in ``st.session_state``; changing a
setting rebuilds it untrained from the same seed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import streamlit as st

from deqnet.digits.data import DigitsDataset, load_digits_dataset
from deqnet.digits.models import ConvFeedForward, DigitsConfig
from deqnet.digits.training import DigitsTrainConfig, DigitsTrainer, evaluate
from ui.slots import busy_turn

STATE_KEY = "deqnet_digits"
TRAIN_SECONDS = 15.0  # time box of one press of Train (the default run takes 1–3 s)
CHUNK_SECONDS = 0.25  # the progress bar moves at least this often
RESET_NOTE = "The settings changed — the digits model was reset to its initial weights."
T = TypeVar("T")


@dataclass(eq=False)
class DigitsSession:
    """This browser session's digits model.

    ``version`` grows whenever the weights change, so pictures memoised with ``memo`` are
    recomputed exactly when they are stale.
    """

    config: DigitsConfig
    train: DigitsTrainConfig
    data: DigitsDataset
    model: ConvFeedForward
    trainer: DigitsTrainer
    version: int = 0
    cache: dict[str, tuple[int, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def steps_done(self) -> int:
        return self.trainer.steps_done

    @property
    def diverged(self) -> bool:
        return self.trainer.status != "ok"


def _build(config: DigitsConfig, train: DigitsTrainConfig, data: DigitsDataset) -> DigitsSession:
    model = ConvFeedForward(config)
    return DigitsSession(config, train, data, model, DigitsTrainer(model, data, train))


def digits_session(config: DigitsConfig) -> DigitsSession:
    """The session's digits model for ``config``: kept if the config is unchanged, else rebuilt
    untrained (the data are loaded once per session)."""
    current = st.session_state.get(STATE_KEY)
    if current is not None and current.config == config:
        return current
    data = current.data if current is not None else load_digits_dataset()
    session = _build(config, DigitsTrainConfig(), data)
    if current is not None:
        session.version = current.version + 1
        if current.steps_done:
            session.notes.append(RESET_NOTE)
    st.session_state[STATE_KEY] = session
    return session


def memo(session: DigitsSession, name: str, compute: Callable[[], T]) -> T:
    """``compute()`` memoised in the session per weights version."""
    hit = session.cache.get(name)
    if hit is not None and hit[0] == session.version:
        return hit[1]
    value = compute()
    session.cache[name] = (session.version, value)
    return value


def train(session: DigitsSession, on_progress: Callable[[float, str], None]) -> None:
    """Train toward the step budget, time-boxed, in short chunks; ``on_progress(fraction, text)``
    after each. Takes its turn at the CPU like the app's quick training (``ui.slots``)."""
    budget = session.train.train_steps
    deadline = time.monotonic() + TRAIN_SECONDS
    with busy_turn():
        while not session.trainer.budget_reached and not session.diverged:
            if time.monotonic() > deadline:
                break
            session.trainer.step(budget, max_seconds=CHUNK_SECONDS)
            session.version += 1
            done = session.steps_done
            on_progress(done / budget, f"Training… {done}/{budget} steps")


def reset(session: DigitsSession) -> None:
    """Back to the initial weights (a fresh model from the same seed), with no history."""
    fresh = _build(session.config, session.train, session.data)
    fresh.version = session.version + 1
    st.session_state[STATE_KEY] = fresh


def summary(session: DigitsSession) -> str:
    """ "Conv net after 100 of 100 training steps, test accuracy 95 %" (or "untrained")."""
    metrics = memo(session, "metrics", lambda: evaluate(session.model, session.data))
    accuracy = f"test accuracy {100 * metrics['test_acc']:.1f} %"
    if not session.steps_done:
        return f"Untrained conv net (initial weights, close to the identity): {accuracy}"
    return (
        f"Conv net after {session.steps_done} of {session.train.train_steps} training steps, "
        f"{accuracy}"
    )
