"""The server's trainer thread: trains watched sessions together, each exactly as if alone.

Sessions are made with ``ui.state.new_session`` (no Streamlit runtime needed); a tab "watching"
is a ``touch``. Waits poll with generous timeouts: the assertions are about what happens, not
how fast.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

import pytest

import deqnet
from ui.class_trainer import WATCH_SECONDS, ClassTrainer
from ui.state import LIVE_GRID_POINTS, Session, new_session

LINK = deqnet.RunConfig(
    data=deqnet.DataConfig(n=96, seed=3),
    model=deqnet.ModelConfig(width=8, steps=4),
    train=deqnet.TrainConfig(seed=5, train_steps=40),
)


@pytest.fixture
def trainer() -> Iterator[ClassTrainer]:
    service = ClassTrainer()
    yield service
    service.close()


def _start(service: ClassTrainer, run: deqnet.RunConfig) -> Session:
    session = new_session(run)
    session.live.running = True
    service.touch(session)
    return session


def _watch_until(service: ClassTrainer, sessions: list[Session], done, timeout: float = 120):
    """Touch the sessions (as their tabs' ticks do) until ``done()`` or the timeout."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "training did not get there in time"
        for session in sessions:
            service.touch(session)
        time.sleep(0.05)


def test_a_shared_link_trains_the_same_alone_and_alongside_seven_others(trainer) -> None:
    alone = _start(trainer, LINK)
    _watch_until(trainer, [alone], lambda: not alone.live.running)
    others = [
        dataclasses.replace(LINK, train=LINK.train.replace(seed=s, lr=0.01 * s))
        for s in range(1, 7)
    ]
    crowd = [_start(trainer, LINK)] + [_start(trainer, run) for run in others]
    crowd.append(_start(trainer, dataclasses.replace(LINK, data=LINK.data.replace(seed=9))))
    _watch_until(trainer, crowd, lambda: not any(s.live.running for s in crowd))
    assert alone.steps_done == crowd[0].steps_done == LINK.train.train_steps
    assert [r.loss for r in crowd[0].trainer.history] == [r.loss for r in alone.trainer.history]
    assert [r.test_acc for r in crowd[0].trainer.history] == [
        r.test_acc for r in alone.trainer.history
    ]
    assert all(s.steps_done == LINK.train.train_steps for s in crowd)
    # ... and it is the Trainer's curve, to float rounding (stacked matmuls vs F.linear).
    data = LINK.data.make()
    model = deqnet.build_model(LINK.model, data.n_classes, seed=LINK.train.seed)
    lone = deqnet.Trainer(model, data, LINK.train)
    lone.step(LINK.train.train_steps)
    assert [r.loss for r in alone.trainer.history] == pytest.approx(
        [r.loss for r in lone.history], rel=1e-4
    )


def test_the_budget_stops_training_and_leaves_a_picture(trainer) -> None:
    session = _start(trainer, LINK)
    _watch_until(trainer, [session], lambda: not session.live.running)
    assert session.steps_done == LINK.train.train_steps and not session.diverged
    picture = session.live.picture
    assert picture.shows == (id(session.model), LINK.train.train_steps)
    assert picture.grid.probs.shape == (LIVE_GRID_POINTS, LIVE_GRID_POINTS, 2)
    assert picture.paths.x.shape[1] == 64


def test_an_unwatched_session_stops_costing_cpu(trainer) -> None:
    """A closed tab stops touching: within WATCH_SECONDS its session is no longer stepped."""
    session = _start(trainer, dataclasses.replace(LINK, train=LINK.train.replace(train_steps=5000)))
    _watch_until(trainer, [session], lambda: session.steps_done >= 3)
    time.sleep(WATCH_SECONDS + 0.5)
    assert not trainer.is_training(session)
    stopped_at = session.steps_done
    time.sleep(1.0)
    assert session.steps_done == stopped_at
    assert session.live.running  # nothing else changed: a tab that comes back trains on
    _watch_until(trainer, [session], lambda: session.steps_done > stopped_at)


def test_pause_stops_at_once(trainer) -> None:
    session = _start(trainer, dataclasses.replace(LINK, train=LINK.train.replace(train_steps=5000)))
    _watch_until(trainer, [session], lambda: session.steps_done >= 3)
    session.live.running = False
    with session.lock:  # the step in progress, if any, ends before the lock is free
        paused_at = session.steps_done
    for _ in range(10):
        trainer.touch(session)
        time.sleep(0.05)
    assert session.steps_done == paused_at


def test_divergence_stops_the_session_with_the_trainers_message(trainer) -> None:
    wild = dataclasses.replace(
        LINK,
        model=deqnet.ModelConfig(family="ruseckas", T=5.0, gamma=1.0, solver="euler", steps=10),
        train=LINK.train.replace(lr=10.0, grad_clip=0.0),
    )
    session = _start(trainer, wild)
    calm = _start(trainer, LINK)
    _watch_until(trainer, [session, calm], lambda: not session.live.running)
    assert session.diverged and session.trainer.message.startswith("Training diverged at step")
    _watch_until(trainer, [calm], lambda: not calm.live.running)
    assert calm.steps_done == LINK.train.train_steps and not calm.diverged


def test_a_session_busy_with_its_own_run_sits_out_without_holding_up_its_group(trainer) -> None:
    long_run = dataclasses.replace(LINK, train=LINK.train.replace(train_steps=5000))
    busy, other = _start(trainer, long_run), _start(trainer, long_run)
    _watch_until(trainer, [busy, other], lambda: busy.steps_done >= 2 and other.steps_done >= 2)
    with busy.lock:  # as a script run of its own holds it (a settings change, a page run)
        held_at, other_at = busy.steps_done, other.steps_done
        _watch_until(trainer, [busy, other], lambda: other.steps_done >= other_at + 10, timeout=30)
        assert busy.steps_done == held_at
    _watch_until(trainer, [busy, other], lambda: busy.steps_done > held_at)
    assert busy.trainer.history[held_at].step == held_at + 1  # it went on where it stopped
