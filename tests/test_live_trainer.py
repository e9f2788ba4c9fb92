"""The live trainer in a plain process: it trains watched sessions together, each exactly as if
alone, stops them for the right reasons, and its mailboxes lose no record.

A "tab" here is a :class:`deqnet.live.Mailbox` (what a websocket watches) or ``watch_for`` (what
a polling tab does). Waits poll with generous timeouts: the assertions are about what happens,
not how fast.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest
from live_sessions import LiveSession

import deqnet
from deqnet.analysis import decision_grid, plot_extent
from deqnet.live import LIVE_GRID_POINTS, LiveTrainer, Mailbox, stacked_grids

LINK = deqnet.RunConfig(
    data=deqnet.DataConfig(n=96, seed=3),
    model=deqnet.ModelConfig(width=8, steps=4),
    train=deqnet.TrainConfig(seed=5, train_steps=40),
)
LONG = dataclasses.replace(LINK, train=LINK.train.replace(train_steps=5000))


@pytest.fixture
def trainer() -> Iterator[LiveTrainer]:
    service = LiveTrainer(note=lambda session, text: session.notes.append(text))
    yield service
    service.close()


def _watched(service: LiveTrainer, run: deqnet.RunConfig) -> tuple[LiveSession, Mailbox]:
    session = LiveSession(run)
    box = Mailbox(session, wake=lambda: None)
    service.watch(box)
    session.live.running = True
    service.wake()
    return session, box


def _until(done: Callable[[], bool], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "training did not get there in time"
        time.sleep(0.02)


def test_a_shared_link_trains_the_same_alone_and_alongside_seven_others(trainer) -> None:
    alone, _ = _watched(trainer, LINK)
    _until(lambda: not alone.live.running)
    others = [
        dataclasses.replace(LINK, train=LINK.train.replace(seed=s, lr=0.01 * s))
        for s in range(1, 7)
    ]
    crowd = [_watched(trainer, LINK)[0]] + [_watched(trainer, run)[0] for run in others]
    crowd.append(_watched(trainer, dataclasses.replace(LINK, data=LINK.data.replace(seed=9)))[0])
    _until(lambda: not any(s.live.running for s in crowd))
    assert alone.steps_done == crowd[0].steps_done == LINK.train.train_steps
    assert [r.loss for r in crowd[0].trainer.history] == [r.loss for r in alone.trainer.history]
    assert [r.test_acc for r in crowd[0].trainer.history] == [
        r.test_acc for r in alone.trainer.history
    ]
    assert all(s.steps_done == LINK.train.train_steps for s in crowd)
    # ... and it is the Trainer's curve, to float rounding (stacked matmuls vs F.linear).
    lone = LiveSession(LINK)
    lone.trainer.step(LINK.train.train_steps)
    assert [r.loss for r in alone.trainer.history] == pytest.approx(
        [r.loss for r in lone.trainer.history], rel=1e-4
    )


def test_the_budget_stops_training_with_a_last_picture_and_says_why(trainer) -> None:
    session, box = _watched(trainer, LINK)
    _until(lambda: not session.live.running)
    update = box.take()
    assert update.stopped == "budget" and not update.running
    assert session.steps_done == LINK.train.train_steps and not session.diverged
    picture = session.live.picture
    assert (picture.serial, picture.step) == (session.trainer.serial, LINK.train.train_steps)
    assert picture.grid.probs.shape == (LIVE_GRID_POINTS, LIVE_GRID_POINTS, 2)
    # The last picture is of the final weights: the model's own decision grid.
    grid = decision_grid(session.model, plot_extent(session.data), n=LIVE_GRID_POINTS)
    np.testing.assert_allclose(picture.grid.probs, grid.probs, atol=1e-6)


def test_every_record_reaches_a_watcher_however_many_pictures_it_misses(trainer) -> None:
    session = LiveSession(LINK)
    rare = Mailbox(session, wake=lambda: None)  # takes only once, at the end
    woken = threading.Event()
    often = Mailbox(session, wake=woken.set)
    woken.set()  # a new mailbox holds the whole history (empty here): take it, as the route does
    trainer.watch(rare)
    trainer.watch(often)
    session.live.running = True
    trainer.wake()
    taken = []
    while session.live.running or woken.is_set():
        if woken.wait(0.05):
            woken.clear()
            update = often.take()
            if update is not None:
                taken.append(update)
    history = [r.step for r in session.trainer.history]
    assert history == list(range(1, LINK.train.train_steps + 1))
    assert [r.step for u in taken for r in u.records] == history
    assert [u.start for u in taken] == [0, *np.cumsum([len(u.records) for u in taken])[:-1]]
    last = rare.take()
    assert last.reset and [r.step for r in last.records] == history
    assert last.picture is not None and last.picture.step == LINK.train.train_steps
    assert rare.take() is None  # nothing new since


def test_a_new_trainer_restarts_the_watchers_curves(trainer) -> None:
    session, box = _watched(trainer, LINK)
    _until(lambda: not session.live.running)
    box.take()
    with session.lock:  # as Reset does
        session.trainer = deqnet.Trainer(session.model, session.data, LINK.train)
    session.trainer.step(2)
    box.post()
    update = box.take()
    assert update.reset and update.start == 0 and [r.step for r in update.records] == [1, 2]


def test_an_unwatched_session_stops_at_once_and_goes_on_when_watched_again(trainer) -> None:
    session, box = _watched(trainer, LONG)
    _until(lambda: session.steps_done >= 3)
    trainer.unwatch(box)
    with session.lock:  # the step in progress, if any, ends before the lock is free
        stopped_at = session.steps_done
    time.sleep(0.5)
    assert session.steps_done <= stopped_at + 1
    assert session.live.running  # nothing else changed: a tab that comes back trains on
    trainer.watch(Mailbox(session, wake=lambda: None))
    _until(lambda: session.steps_done > stopped_at + 1)


def test_a_hidden_tab_stops_training_its_session(trainer) -> None:
    session, box = _watched(trainer, LONG)
    _until(lambda: session.steps_done >= 3)
    box.visible = False
    time.sleep(0.2)
    at = session.steps_done
    time.sleep(0.5)
    assert session.steps_done == at
    box.visible = True
    trainer.wake()
    _until(lambda: session.steps_done > at)


def test_a_polling_tab_trains_only_while_it_polls(trainer) -> None:
    session = LiveSession(LONG)
    session.live.running = True
    trainer.watch_for(session, 0.5)
    _until(lambda: session.steps_done >= 3)
    time.sleep(0.8)
    at = session.steps_done
    time.sleep(0.5)
    assert session.steps_done == at and trainer.training() == []


def test_pause_stops_at_once(trainer) -> None:
    session, _ = _watched(trainer, LONG)
    _until(lambda: session.steps_done >= 3)
    session.live.running = False
    with session.lock:
        paused_at = session.steps_done
    time.sleep(0.5)
    assert session.steps_done == paused_at


def test_divergence_stops_only_that_session_with_the_trainers_message(trainer) -> None:
    wild = dataclasses.replace(
        LINK,
        model=deqnet.ModelConfig(family="ruseckas", T=5.0, gamma=1.0, solver="euler", steps=10),
        train=LINK.train.replace(lr=10.0, grad_clip=0.0),
    )
    session, box = _watched(trainer, wild)
    calm, _ = _watched(trainer, LINK)
    _until(lambda: not session.live.running)
    assert session.diverged and session.trainer.message.startswith("Training diverged at step")
    assert box.take().stopped == "diverged"
    _until(lambda: not calm.live.running)
    assert calm.steps_done == LINK.train.train_steps and not calm.diverged


def test_a_session_busy_with_its_own_run_sits_out_without_holding_up_its_group(trainer) -> None:
    busy, _ = _watched(trainer, LONG)
    other, _ = _watched(trainer, LONG)
    _until(lambda: busy.steps_done >= 2 and other.steps_done >= 2)
    with busy.lock:  # as a script run of its own holds it (a settings change, a page run)
        held_at, other_at = busy.steps_done, other.steps_done
        _until(lambda: other.steps_done >= other_at + 10, timeout=30)
        assert busy.steps_done == held_at
    _until(lambda: busy.steps_done > held_at)
    assert busy.trainer.history[held_at].step == held_at + 1  # it went on where it stopped


def test_a_crash_stops_the_group_with_a_note_and_tells_the_watcher(trainer, monkeypatch) -> None:
    import deqnet.live.trainer as live_trainer

    def broken(trainers):
        raise RuntimeError("boom")

    monkeypatch.setattr(live_trainer, "step_together", broken)
    session, box = _watched(trainer, LONG)
    _until(lambda: not session.live.running)
    assert session.notes == [live_trainer.CRASH_NOTE]
    assert box.take().stopped == "error"


def test_stacked_grids_are_each_models_own_grid() -> None:
    runs = [LINK, dataclasses.replace(LINK, data=LINK.data.replace(seed=9, noise=0.3))]
    runs += [dataclasses.replace(LINK, train=LINK.train.replace(seed=s)) for s in (1, 2)]
    sessions = [LiveSession(run) for run in runs]
    for s in sessions:
        s.trainer.step(5)
    extents = [plot_extent(s.data) for s in sessions]
    grids = stacked_grids([s.model for s in sessions], extents, 20)
    for session, extent, grid in zip(sessions, extents, grids, strict=True):
        alone = decision_grid(session.model, extent, n=20)
        np.testing.assert_array_equal(grid.xs, alone.xs)
        np.testing.assert_array_equal(grid.ys, alone.ys)
        np.testing.assert_allclose(grid.probs, alone.probs, atol=1e-5)
