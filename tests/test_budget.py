"""The memory budget of one training step (ui/budget.py): estimated and enforced."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from app_harness import start, texts  # noqa: F401

from deqnet import DataConfig, ModelConfig, RunConfig, TrainConfig
from deqnet.config import STEP_MEMORY_LIMIT, evaluations_per_pass, step_memory
from deqnet.sweep.grid import expand_grid, validate_grid
from deqnet.sweep.plan import stack_step_memory
from ui import budget
from ui.state import new_session

ROOT = Path(__file__).resolve().parents[1]
HUGE = RunConfig(
    data=DataConfig(n=10_000, test_fraction=0.05),
    model=ModelConfig(width=64, augment=3),  # rk4, 10 steps: only 40 evaluations, cheap to draw
)


def test_evaluations_per_pass_counts_solver_stages_segments_and_layers() -> None:
    assert evaluations_per_pass(ModelConfig(solver="rk4", steps=10)) == 40
    assert evaluations_per_pass(ModelConfig(solver="euler", steps=7)) == 7
    # Piecewise: each of K segments takes ceil(steps / K) steps.
    assert evaluations_per_pass(ModelConfig(solver="midpoint", steps=10, time_mode="piecewise",
                                            segments=3)) == 2 * 3 * 4  # fmt: skip
    assert evaluations_per_pass(ModelConfig(family="resnet", layers=12)) == 12
    assert evaluations_per_pass(ModelConfig(solver="dopri5")) is None


def test_oversized_steps_are_refused_with_their_size() -> None:
    assert budget.memory_problem(new_session(RunConfig())) is None
    session = new_session(HUGE)
    message = budget.memory_problem(session)
    need = step_memory(HUGE, session.data.n_train)
    assert message is not None and need > STEP_MEMORY_LIMIT
    assert f"{need / 2**20:,.0f} MB" in message and "mini-batch" in message
    # A mini-batch or the adjoint method brings the same setup under the limit.
    for train in (TrainConfig(batch_size=1024), TrainConfig(grad_mode="adjoint")):
        assert budget.memory_problem(new_session(RunConfig(HUGE.data, HUGE.model, train))) is None


def test_a_sweep_group_needs_the_memory_of_all_its_members_at_once() -> None:
    small = RunConfig(data=DataConfig(n=200))
    grid = validate_grid({"lr": [0.01, 0.02, 0.03], "width": [8, 16, 32]})
    cells = expand_grid(small.data, small.model, small.train, grid)
    n_train = cells[0].data.n_train
    one = {w: step_memory(RunConfig(model=small.model.replace(width=w)), n_train) for w in (16, 32)}
    # Widths 8 and 16 share a stack padded to 16: six cells at width 16; 32 is a stack of three.
    assert stack_step_memory(cells) == max(6 * one[16], 3 * one[32])
    assert budget.sweep_memory_problem(cells) is None
    huge = expand_grid(HUGE.data, HUGE.model, HUGE.train, validate_grid({"seed": [0, 1]}))
    need = stack_step_memory(huge)
    assert need == 2 * step_memory(HUGE, huge[0].data.n_train) > STEP_MEMORY_LIMIT
    message = budget.sweep_memory_problem(huge)
    assert message is not None and f"{need / 2**20:,.0f} MB" in message and "fewer cells" in message


def test_adaptive_solvers_are_checked_with_the_measured_evaluations() -> None:
    session = new_session(RunConfig(model=ModelConfig(solver="dopri5", width=64)))
    assert budget.memory_problem(session) is None  # unknown before a step
    assert budget.memory_problem(session, evaluations=60) is None
    assert budget.memory_problem(session, evaluations=100_000) is not None


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


def test_the_playground_refuses_to_train_an_oversized_setup() -> None:
    """Wiring: the Train button (ui/live.py) checks it; the refusal is shown, nothing trains."""
    at = start(n="10000", test="0.05", width="64", augment="3")
    at.button(key="pg_train").click().run()
    session = at.session_state["deqnet"]
    assert not at.exception
    assert not session.live.running and session.steps_done == 0
    assert "too large for the shared server" in texts(at.info) + texts(at.error)
