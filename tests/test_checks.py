"""The checks panel: every identity passes on the tight float64 copy, and genuinely broken
numerics (a coarse Euler adjoint) fail against the same tolerances."""

import numpy as np
import pytest
import torch

from deqnet import ModelConfig, build_model, momentum
from deqnet.analysis.checks import (
    STATUSES,
    check_adjoint,
    check_energy,
    check_liouville,
    check_parameter_gradients,
    check_points,
    run_checks,
)


def model_of(**config):
    return build_model(ModelConfig(**config), n_classes=2, seed=2)


@pytest.mark.parametrize(
    "config",
    [{}, {"family": "ruseckas"}],
    ids=["default-node", "ruseckas"],
)
def test_all_checks_pass_for_autonomous_models(tiny_moons, config):
    model = model_of(**config)  # float32, rk4 with 10 steps: what the app trains
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.nfe = 11
    rows = run_checks(model, tiny_moons)
    assert len(rows) == 5
    assert [r.status for r in rows] == ["pass"] * 5, [(r.name, r.error) for r in rows]
    assert all(r.passed and r.error <= r.tolerance for r in rows)
    assert [r.tolerance for r in rows] == [1e-6, 1e-6, 1e-4, 1e-6, 1e-6]
    assert all(r.proves for r in rows)
    assert "not 0" in rows[3].note
    assert model.nfe == 11 and model.dtype == torch.float32
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_piecewise_energy_is_stepwise_and_dL_dT_is_the_segment_mean(tiny_moons):
    model = model_of(time_mode="piecewise", segments=3)
    rows = run_checks(model, tiny_moons)
    assert all(r.status == "pass" for r in rows), [(r.name, r.error) for r in rows]
    energy, depth = rows[1], rows[2]
    assert "within each weight segment" in energy.name
    # The steps are visible: H's level (two times inside each segment) jumps between segments.
    x, y = check_points(tiny_moons)
    inside = [np.linspace(i, i + 1, 4)[1:-1] * model.config.T / 3 for i in range(3)]
    levels = momentum(model, x, y, times=np.concatenate(inside)).H.reshape(3, 2, -1).mean(axis=1)
    assert np.max(np.abs(np.diff(levels, axis=0)) / np.abs(levels).mean(axis=0)) > 1e-3
    assert "mean over segments" in depth.name


def test_time_input_marks_energy_as_drifting(tiny_moons):
    rows = run_checks(model_of(time_mode="time"), tiny_moons)
    energy = rows[1]
    assert energy.status == "expected drift" and energy.passed
    assert energy.error > 1e-3  # visibly not conserved, and not reported as a failure
    assert [r.status for i, r in enumerate(rows) if i != 1] == ["pass"] * 4
    assert {r.status for r in rows} <= set(STATUSES)


def test_networks_are_checked_on_their_ode(tiny_moons):
    rows = run_checks(model_of(family="resnet"), tiny_moons)
    assert all(r.passed for r in rows)
    assert all(r.name.endswith("[on the ODE read from the network]") for r in rows)


def test_a_coarse_euler_adjoint_fails_the_tolerances(tiny_moons):
    # Two Euler steps over [0, 1]: the backward Euler adjoint is not the gradient of the forward
    # Euler map, the computed flow neither conserves H nor keeps (x, a) volume. No mock: the
    # check functions run the same code as run_checks, on a model that really is this coarse.
    coarse = model_of(solver="euler", steps=2).double()
    x, y = check_points(tiny_moons)
    for check in (check_adjoint, check_energy, check_liouville, check_parameter_gradients):
        row = check(coarse, x, y)
        assert row.status == "fail" and not row.passed, row.name
        assert row.error > 100 * row.tolerance


def test_check_points_take_classes_in_turn(tiny_moons):
    x, y = check_points(tiny_moons, 8)
    assert y.tolist() == [0, 1] * 4
    first = [int(np.flatnonzero(tiny_moons.y_train == c)[0]) for c in (0, 1)]
    np.testing.assert_array_equal(x[:2], tiny_moons.x_train[first])
    x_all, _ = check_points(tiny_moons, 10_000)
    assert len(x_all) == len(tiny_moons.x_train)


def test_a_model_the_solver_cannot_finish_fails_every_row_and_says_why(tiny_moons):
    model = model_of()
    with torch.no_grad():
        model.mlp.b2[0, 0] = float("nan")  # weights of a run that blew up
    rows = run_checks(model, tiny_moons)
    assert all(r.status == "fail" and not r.passed for r in rows)
    assert all(r.note.startswith("not tested: the adaptive solver") for r in rows)
