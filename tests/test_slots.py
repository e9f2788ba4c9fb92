"""Server-wide CPU slots (ui/slots.py): the cap, first-come-first-served order, leaving the line,
a live tick that waits its turn, and the app's script runs taking run turns."""

from __future__ import annotations

import threading
import time

import pytest
from app_harness import APP
from streamlit.testing.v1 import AppTest

from ui import slots as slots_module
from ui.slots import (
    Slots,
    max_runs,
    max_trainings,
    queued_slot,
    server_run_turns,
    server_slots,
    training_slot,
)


def _hold_slots(count: int) -> tuple[int, list[threading.Thread], threading.Event]:
    """Start ``count`` threads that each try to take a slot and keep it until released."""
    granted, lock = [], threading.Lock()
    tried = threading.Barrier(count + 1)
    release = threading.Event()

    def worker() -> None:
        with training_slot(wait=0.01) as ok:
            with lock:
                granted.append(ok)
            tried.wait()
            release.wait()

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    tried.wait()  # every thread has tried while the others hold their slots
    return sum(granted), threads, release


def _finish(threads: list[threading.Thread], release: threading.Event) -> None:
    release.set()
    for thread in threads:
        thread.join()


def test_at_most_max_trainings_run_at_once_and_slots_come_back() -> None:
    cap = max_trainings()
    assert cap >= 2
    n_granted, threads, release = _hold_slots(cap + 3)
    _finish(threads, release)
    assert n_granted == cap
    n_granted, threads, release = _hold_slots(cap)  # all slots were released
    _finish(threads, release)
    assert n_granted == cap


def test_a_slot_is_released_when_the_block_raises() -> None:
    cap = max_trainings()
    for _ in range(cap + 1):
        with pytest.raises(RuntimeError), training_slot() as ok:
            assert ok
            raise RuntimeError("boom")
    n_granted, threads, release = _hold_slots(cap)
    _finish(threads, release)
    assert n_granted == cap


def test_the_cap_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(slots_module.ENV_MAX_TRAININGS, "5")
    assert max_trainings() == 5
    for bad in ("0", "-1", "many", ""):
        monkeypatch.setenv(slots_module.ENV_MAX_TRAININGS, bad)
        assert max_trainings() >= 2


def test_waiters_are_served_in_arrival_order_even_across_timeouts() -> None:
    """Five tickets join a full line; each waits in short timeouts (as a tab showing a notice
    does) and still gets the single slot in the order it arrived."""
    slots = Slots(1)
    first = slots.enter()
    assert slots.wait(first, 0.0)
    order: list[int] = []
    tickets = [slots.enter() for _ in range(5)]

    def waiter(i: int) -> None:
        while not slots.wait(tickets[i], 0.005):
            pass
        order.append(i)
        time.sleep(0.01)
        slots.leave(tickets[i], True)

    # Start them in reverse: the thread that runs first must not jump the line.
    threads = [threading.Thread(target=waiter, args=(i,)) for i in reversed(range(5))]
    for thread in threads:
        thread.start()
    time.sleep(0.05)
    assert order == []  # nobody gets in while the slot is held
    slots.leave(first, True)
    for thread in threads:
        thread.join(timeout=10)
    assert order == [0, 1, 2, 3, 4]


def test_two_slots_serve_the_first_two_in_line_together() -> None:
    slots = Slots(2)
    a, b, c = slots.enter(), slots.enter(), slots.enter()
    assert not slots.wait(b, 0.0)  # a is first in line
    assert slots.wait(a, 0.0) and slots.wait(b, 0.0)
    assert not slots.wait(c, 0.01)  # both held
    slots.leave(a, True)
    assert slots.wait(c, 0.0)


def test_a_waiter_stopped_while_waiting_leaves_the_line() -> None:
    """``on_wait`` raising (Streamlit stopping a paused or closed tab's run) takes the ticket out
    of the line: the next waiter gets the slot, and the block never ran."""
    cap = max_trainings()
    n_granted, threads, release = _hold_slots(cap)
    assert n_granted == cap
    ran, calls = [], []

    def stop_on_second_wait() -> None:
        calls.append(time.monotonic())
        if len(calls) == 2:
            raise RuntimeError("stopped")

    with pytest.raises(RuntimeError, match="stopped"), queued_slot(stop_on_second_wait):
        ran.append(True)
    assert ran == [] and len(calls) == 2
    _finish(threads, release)
    with training_slot(wait=0.5) as granted:  # the line is empty again: no ghost ticket ahead
        assert granted


def test_queued_slot_waits_as_long_as_it_takes_and_calls_on_wait_meanwhile() -> None:
    cap = max_trainings()
    n_granted, threads, release = _hold_slots(cap)
    assert n_granted == cap
    timer = threading.Timer(1.6, release.set)
    timer.start()
    calls: list[float] = []
    start = time.monotonic()
    with queued_slot(lambda: calls.append(time.monotonic())):
        waited = time.monotonic() - start
    for thread in threads:
        thread.join()
    assert waited >= 1.5
    assert len(calls) >= 2  # one call per WAIT_SECONDS of waiting (0.5 s)


def _take_all(slots: Slots) -> list[object]:
    """Take every free slot of ``slots`` (as other sessions would); returns the tickets."""
    held = []
    ticket = slots.enter()
    while slots.wait(ticket, 0.0):
        held.append(ticket)
        ticket = slots.enter()
    slots.leave(ticket, False)
    return held


def _quick_train_script() -> None:
    import streamlit as st

    from deqnet import RunConfig
    from ui.state import quick_trained

    # A configuration no other test trains, so the server-wide cache cannot already hold it.
    run = RunConfig.from_dict({"data": {"n": 64, "seed": 7321}, "train": {"train_steps": 3}})
    st.markdown(f"steps {quick_trained(run).steps_done}")


def test_quick_training_on_a_busy_server_waits_its_turn_then_trains() -> None:
    """Every slot held by other sessions for 1.5 s: quick training waits (it does not skip),
    then trains, and the busy notice is gone from the page when it has its turn."""
    slots = server_slots(max_trainings())
    held = _take_all(slots)

    def give_back() -> None:
        for taken in held:
            slots.leave(taken, True)

    timer = threading.Timer(1.5, give_back)
    at = AppTest.from_function(_quick_train_script, default_timeout=60)
    start = time.monotonic()
    timer.start()
    at.run()
    waited = time.monotonic() - start
    timer.join()
    assert not at.exception
    assert waited >= 1.5
    assert at.markdown[0].value != "steps 0"
    assert not at.info  # the notice was cleared when the turn came


def _quick_turn_script() -> None:
    import streamlit as st

    from ui.slots import busy_turn

    with busy_turn():
        st.markdown("inside")


def test_a_turn_without_a_placeholder_adds_no_element_unless_it_waits() -> None:
    """Quick training (ui.state.ensure_trained) passes no placeholder: an uncontended turn must
    leave the page's element positions as they were, so its charts do not re-mount."""
    at = AppTest.from_function(_quick_turn_script, default_timeout=30).run()
    assert [child.type for child in at.main.children.values()] == ["markdown"]


def test_an_app_run_waits_for_a_run_turn_and_not_for_a_training_slot() -> None:
    """Every run turn held for 1.5 s: a page run of the app waits, then runs. Every training
    slot held instead: a Playground run (no quick training) does not wait for them."""
    at = AppTest.from_file(APP, default_timeout=60).run()  # the session's first run, uncontended
    turns = server_run_turns(max_runs())
    held = _take_all(turns)
    assert len(held) == max_runs() > max_trainings()
    timer = threading.Timer(1.5, lambda: [turns.leave(t, True) for t in held])
    start = time.monotonic()
    timer.start()
    at.run()
    waited = time.monotonic() - start
    timer.join()
    assert not at.exception and waited >= 1.5
    assert at.get("bidi_component")  # the Playground (its live panel) was drawn

    slots = server_slots(max_trainings())
    held = _take_all(slots)
    try:
        start = time.monotonic()
        at.run()
        assert not at.exception and time.monotonic() - start < 1.5
    finally:
        for ticket in held:
            slots.leave(ticket, True)
