"""Server guards (ui/guard.py): the training-slot cap, the step-memory budget and the live tick."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from app_harness import start, texts  # noqa: F401
from streamlit.testing.v1 import AppTest

from deqnet import DataConfig, ModelConfig, RunConfig, TrainConfig
from deqnet.config import STEP_MEMORY_LIMIT, evaluations_per_pass, step_memory
from ui import guard
from ui.state import new_session

ROOT = Path(__file__).resolve().parents[1]
HUGE = RunConfig(
    data=DataConfig(n=10_000, test_fraction=0.05),
    model=ModelConfig(width=64, augment=3),  # rk4, 10 steps: only 40 evaluations, cheap to draw
)


def _hold_slots(count: int) -> tuple[int, list[threading.Thread], threading.Event]:
    """Start ``count`` threads that each try to take a slot and keep it until released."""
    granted, lock = [], threading.Lock()
    tried = threading.Barrier(count + 1)
    release = threading.Event()

    def worker() -> None:
        with guard.training_slot(wait=0.01) as ok:
            with lock:
                granted.append(ok)
            tried.wait()
            release.wait()

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    tried.wait()  # every thread has tried while the others hold their slots
    return sum(granted), threads, release


def test_at_most_max_trainings_run_at_once_and_slots_come_back() -> None:
    cap = guard.max_trainings()
    assert cap >= 2
    n_granted, threads, release = _hold_slots(cap + 3)
    release.set()
    for thread in threads:
        thread.join()
    assert n_granted == cap
    n_granted, threads, release = _hold_slots(cap)  # all slots were released
    release.set()
    for thread in threads:
        thread.join()
    assert n_granted == cap


def test_a_slot_is_released_when_the_block_raises() -> None:
    cap = guard.max_trainings()
    for _ in range(cap + 1):
        with pytest.raises(RuntimeError), guard.training_slot() as ok:
            assert ok
            raise RuntimeError("boom")
    n_granted, threads, release = _hold_slots(cap)
    release.set()
    for thread in threads:
        thread.join()
    assert n_granted == cap


def test_the_cap_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(guard.ENV_MAX_TRAININGS, "5")
    assert guard.max_trainings() == 5
    for bad in ("0", "-1", "many", ""):
        monkeypatch.setenv(guard.ENV_MAX_TRAININGS, bad)
        assert guard.max_trainings() >= 2


def test_evaluations_per_pass_counts_solver_stages_segments_and_layers() -> None:
    assert evaluations_per_pass(ModelConfig(solver="rk4", steps=10)) == 40
    assert evaluations_per_pass(ModelConfig(solver="euler", steps=7)) == 7
    # Piecewise: each of K segments takes ceil(steps / K) steps.
    assert evaluations_per_pass(ModelConfig(solver="midpoint", steps=10, time_mode="piecewise",
                                            segments=3)) == 2 * 3 * 4  # fmt: skip
    assert evaluations_per_pass(ModelConfig(family="resnet", layers=12)) == 12
    assert evaluations_per_pass(ModelConfig(solver="dopri5")) is None


def test_oversized_steps_are_refused_with_their_size() -> None:
    assert guard.memory_problem(new_session(RunConfig())) is None
    session = new_session(HUGE)
    message = guard.memory_problem(session)
    need = step_memory(HUGE, session.data.n_train)
    assert message is not None and need > STEP_MEMORY_LIMIT
    assert f"{need / 2**20:,.0f} MB" in message and "mini-batch" in message
    # A mini-batch or the adjoint method brings the same setup under the limit.
    for train in (TrainConfig(batch_size=1024), TrainConfig(grad_mode="adjoint")):
        assert guard.memory_problem(new_session(RunConfig(HUGE.data, HUGE.model, train))) is None


def test_adaptive_solvers_are_checked_with_the_measured_evaluations() -> None:
    session = new_session(RunConfig(model=ModelConfig(solver="dopri5", width=64)))
    assert guard.memory_problem(session) is None  # unknown before a step
    assert guard.memory_problem(session, evaluations=60) is None
    assert guard.memory_problem(session, evaluations=100_000) is not None


_PEAK_SCRIPT = """
import json, sys
from deqnet import RunConfig, Trainer, build_model
from deqnet.config import step_memory

def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) * 1024

run = RunConfig.from_dict(json.loads(sys.argv[1]))
data = run.data.make()
trainer = Trainer(build_model(run.model, data.n_classes, seed=0), data, run.train)
before = hwm()
trainer.step(1)  # the first step: later ones reuse memory the allocator kept
print(json.dumps([hwm() - before, step_memory(run, data.n_train)]))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_the_estimate_bounds_the_measured_peak_of_a_step() -> None:
    """The peak memory one step adds (VmHWM of a fresh process) is within the estimate."""
    model = ModelConfig(width=64, augment=3, steps=40)
    run = RunConfig(data=DataConfig(n=1000, test_fraction=0.05), model=model)
    out = subprocess.run(
        [sys.executable, "-c", _PEAK_SCRIPT, json.dumps(run.to_dict())],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
    )
    measured, estimate = json.loads(out.stdout)
    assert 0 < measured <= estimate <= 4 * measured, (measured, estimate)


def _tick_script() -> None:
    import streamlit as st

    from deqnet import RunConfig
    from ui.guard import train_tick
    from ui.state import new_session

    if "s" not in st.session_state:
        st.session_state["s"] = new_session(RunConfig())
    session = st.session_state["s"]
    session.running = True
    train_tick(session, 0.05)
    st.markdown(f"steps {session.steps_done}")


def test_a_busy_server_shows_the_notice_and_trains_on_the_next_tick() -> None:
    at = AppTest.from_function(_tick_script, default_timeout=60)
    slots = guard._slots(guard.max_trainings())
    taken = 0
    while slots.acquire(blocking=False):  # every slot busy, as if other sessions trained
        taken += 1
    try:
        at.run()
        assert not at.exception
        assert guard.BUSY_TEXT in [info.value for info in at.info]
        assert at.markdown[0].value == "steps 0"
    finally:
        for _ in range(taken):
            slots.release()
    at.run()
    assert not at.info and at.markdown[0].value != "steps 0"


def test_the_playground_refuses_to_train_an_oversized_setup() -> None:
    """Wiring: the live tick (ui/live.py) calls the guard; the refusal is shown, nothing trains."""
    at = start(n="10000", test="0.05", width="64", augment="3")
    at.button(key="pg_train").click().run()
    session = at.session_state["deqnet"]
    assert not at.exception
    assert not session.running and session.steps_done == 0
    assert "too large for the shared server" in texts(at.info) + texts(at.error)
