"""The server-wide cache (ui.shared_cache) and what the app keeps in it (ui.state): bounded,
computed once under concurrency, and giving every session exactly what computing alone gives."""

from __future__ import annotations

import threading
import time

import pytest
import torch
from app_harness import chart_figures, open_page

from deqnet import RunConfig, Trainer, build_model
from deqnet.digits.models import DigitsConfig
from deqnet.digits.training import DigitsTrainConfig
from ui.digits_state import trained_digits
from ui.lesson_models import TOPOLOGY_LESSONS, trained_lesson
from ui.shared_cache import SharedCache, shared_cache
from ui.state import QUICK_STEPS, memo, model_digest, new_session, quick_trained
from ui.warm_up import warm_up

RUN = RunConfig.from_dict({"data": {"n": 64}, "train": {"train_steps": 12}})


def test_bounded_least_recently_used_first() -> None:
    cache = SharedCache(max_entries=3)
    for key in "abc":
        cache.get(key, lambda key=key: key.upper())
    cache.get("a", lambda: "recomputed")  # a hit: "a" becomes the most recently used
    cache.get("d", lambda: "D")
    assert len(cache) == 3 and "b" not in cache
    assert [cache.peek(key) for key in "acd"] == ["A", "C", "D"]
    with pytest.raises(ValueError):
        SharedCache(max_entries=0)


def test_many_threads_asking_at_once_compute_once() -> None:
    cache, started, calls = SharedCache(), threading.Event(), []

    def slow() -> object:
        calls.append(1)
        started.set()
        time.sleep(0.2)  # the others arrive while this computes
        return object()

    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get("k", slow)))]
    threads[0].start()
    started.wait()
    threads += [threading.Thread(target=lambda: results.append(cache.get("k", slow)))
                for _ in range(8)]  # fmt: skip
    for thread in threads[1:]:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and len(results) == 9
    assert all(result is results[0] for result in results)


def test_a_failed_computation_stores_nothing_and_a_waiter_computes_instead() -> None:
    cache, started, release = SharedCache(), threading.Event(), threading.Event()

    def failing() -> int:
        started.set()
        release.wait()
        raise RuntimeError("stopped")

    errors: list[BaseException] = []

    def first() -> None:
        try:
            cache.get("k", failing)
        except RuntimeError as error:
            errors.append(error)

    owner = threading.Thread(target=first)
    owner.start()
    started.wait()
    got: list[int] = []
    waiter = threading.Thread(target=lambda: got.append(cache.get("k", lambda: 5)))
    waiter.start()
    release.set()
    owner.join()
    waiter.join()
    assert len(errors) == 1 and got == [5] and cache.peek("k") == 5


def test_a_result_not_kept_is_returned_but_not_stored() -> None:
    cache = SharedCache()
    assert cache.get("k", lambda: 1, keep=lambda value: value > 1) == 1
    assert "k" not in cache
    assert cache.get("k", lambda: 2, keep=lambda value: value > 1) == 2
    assert cache.peek("k") == 2


def _alone(run: RunConfig) -> Trainer:
    data = run.data.make()
    trainer = Trainer(build_model(run.model, data.n_classes, seed=run.train.seed), data, run.train)
    trainer.step(min(run.train.train_steps, QUICK_STEPS))
    return trainer


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    left, right = a.state_dict(), b.state_dict()
    return left.keys() == right.keys() and all(torch.equal(left[k], right[k]) for k in left)


def test_a_shared_quick_training_equals_training_alone_also_when_continued() -> None:
    shared = quick_trained(RUN)
    assert quick_trained(RUN) is shared
    alone = _alone(RUN)
    assert shared.steps_done == alone.steps_done == RUN.train.train_steps
    assert _same_weights(shared.model, alone.model)
    # A session trains a copy: continuing it takes exactly the steps the lone run takes next
    # (optimiser moments and mini-batch generator included), and leaves the cached one alone.
    mine, before = shared.copy(), {k: v.clone() for k, v in shared.model.state_dict().items()}
    mine.step(5)
    alone.step(5)
    assert _same_weights(mine.model, alone.model)
    assert all(torch.equal(before[k], v) for k, v in shared.model.state_dict().items())
    assert mine.serial != shared.serial  # a live view sees a history of its own


def test_sessions_with_the_same_model_share_memo_and_a_changed_model_does_not() -> None:
    first, second = new_session(RUN), new_session(RUN)
    assert model_digest(first) == model_digest(second)
    value = memo(first, "test-shared-memo", object)
    assert memo(second, "test-shared-memo", object) is value
    with torch.no_grad():
        next(second.model.parameters()).add_(1e-6)
    second.version += 1
    assert model_digest(second) != model_digest(first)
    assert memo(second, "test-shared-memo", object) is not value
    alone = new_session(RUN)
    assert memo(alone, "test-private-memo", object, shared=False) is not memo(
        first, "test-private-memo", object, shared=False
    )


def test_a_second_session_opening_the_same_link_computes_nothing_and_sees_the_same() -> None:
    first = open_page("trajectories")
    assert not first.exception, [e.message for e in first.exception]
    computed = shared_cache().computed
    second = open_page("trajectories")
    assert not second.exception
    assert shared_cache().computed == computed  # quick training and pictures: all from memory
    assert chart_figures(second, ()) == chart_figures(first, ())
    # Each session trains its own copy of the shared model.
    mine, theirs = first.session_state["deqnet"], second.session_state["deqnet"]
    assert mine.model is not theirs.model and _same_weights(mine.model, theirs.model)


def test_the_warm_up_trains_what_the_pages_open_on() -> None:
    warm_up()
    computed = shared_cache().computed
    quick_trained(RunConfig())
    for name in TOPOLOGY_LESSONS:
        trained_lesson(name, seconds=1.0)
    trained_digits(DigitsConfig(), DigitsTrainConfig())
    assert shared_cache().computed == computed
