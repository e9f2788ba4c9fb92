"""The Digits page's own model, kept per browser session (apart from the 2-D Session).

The page trains a conv net on the digits; nothing of it is in the sidebar, the URL or the 2-D
model. One ``DigitsSession`` per browser session lives in ``st.session_state``. It opens trained:
the model of each setting is trained once per server and kept in the server-wide cache
(``ui.shared_cache``), and a session trains (or resets) a copy of it. Pictures of a model are
shared the same way (``memo``), keyed by its weights.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TypeVar

import streamlit as st

from deqnet.digits.data import DigitsDataset, load_digits_dataset
from deqnet.digits.models import ConvFeedForward, DigitsConfig
from deqnet.digits.training import DigitsTrainConfig, DigitsTrainer, evaluate
from ui.shared_cache import digest, shared_cache, weights_digest
from ui.slots import busy_turn

STATE_KEY = "deqnet_digits"
TRAIN_SECONDS = 15.0  # time box of one press of Train (the default run takes 1–3 s)
CHUNK_SECONDS = 0.25  # the progress bar moves at least this often
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
    model_key: tuple[int, str] = (-1, "")

    @property
    def steps_done(self) -> int:
        return self.trainer.steps_done

    @property
    def diverged(self) -> bool:
        return self.trainer.status != "ok"


def _build(config: DigitsConfig, train: DigitsTrainConfig, data: DigitsDataset) -> DigitsSession:
    model = ConvFeedForward(config)
    return DigitsSession(config, train, data, model, DigitsTrainer(model, data, train))


def trained_digits(config: DigitsConfig, train: DigitsTrainConfig) -> DigitsTrainer:
    """The model of ``config`` trained to its step budget: the server's one copy (the first
    caller trains it, in its turn at the CPU; do not train the result, copy it)."""

    def compute() -> DigitsTrainer:
        fresh = _build(config, train, load_digits_dataset())
        with busy_turn():
            fresh.trainer.step(train.train_steps, max_seconds=TRAIN_SECONDS)
        return fresh.trainer

    def complete(trainer: DigitsTrainer) -> bool:
        return trainer.budget_reached or trainer.status != "ok"

    key = ("digits", digest(asdict(config), asdict(train)))
    return shared_cache().get(key, compute, keep=complete)


def digits_session(config: DigitsConfig) -> DigitsSession:
    """The session's digits model for ``config``: kept if the config is unchanged, else a copy of
    the server's trained model for it (trained on first use, with a spinner)."""
    current = st.session_state.get(STATE_KEY)
    if current is not None and current.config == config:
        return current
    train = DigitsTrainConfig()
    with st.spinner("Training the digits model…", show_time=True):
        trainer = trained_digits(config, train).copy()
    session = DigitsSession(config, train, trainer.data, trainer.model, trainer)
    if current is not None:
        session.version = current.version + 1
    st.session_state[STATE_KEY] = session
    return session


def _model_digest(session: DigitsSession) -> str:
    if session.model_key[0] != session.version:
        key = weights_digest(
            session.model, asdict(session.config), session.steps_done, session.trainer.status
        )
        session.model_key = (session.version, key)
    return session.model_key[1]


def memo(session: DigitsSession, name: str, compute: Callable[[], T]) -> T:
    """``compute()`` memoised for this model in the server-wide cache: every session with the
    same weights gets the same object (``compute`` must depend on the model and ``name`` only;
    do not mutate the result)."""
    return shared_cache().get(("digits-memo", name, _model_digest(session)), compute)


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
