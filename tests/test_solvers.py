"""Tests of how continuous models are solved: exact solutions, convergence orders, segments.

Problems with known solutions use the "ruseckas" field F = w x + b + g(x) with hand-set weights:
gamma = 0 gives a linear (affine) field solved exactly by a matrix exponential, and w = b = 0 with
the cubic g gives dx/dt = -gamma x^3, solved exactly by x(t) = x0 / sqrt(1 + 2 gamma x0^2 t).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchdiffeq import odeint

from deqnet import ConfigError, ModelConfig, SolverFailure, build_model
from deqnet.config import SOLVERS

# A rotating, slightly contracting affine field (2-D) and start points; float64 throughout.
A = torch.tensor([[-0.5, 2.0], [-2.0, -0.3]], dtype=torch.float64)
B = torch.tensor([0.7, -0.4], dtype=torch.float64)
X0 = torch.tensor([[1.0, 0.0], [-0.5, 1.5], [0.3, -2.0]], dtype=torch.float64)
TIGHT = {"solver": "dopri5", "rtol": 1e-10, "atol": 1e-10, "max_steps": 20000}


def _affine_model(ws: list[torch.Tensor], bs: list[torch.Tensor], **overrides):
    """A float64 ruseckas model with gamma = 0 and weight set k = (ws[k], bs[k])."""
    mode = "piecewise" if len(ws) > 1 else "autonomous"
    values = {"family": "ruseckas", "gamma": 0.0, "time_mode": mode, "segments": max(len(ws), 2)}
    model = build_model(ModelConfig(**{**values, **overrides}), n_classes=2).double()
    with torch.no_grad():
        model.linear.w.copy_(torch.stack(ws))
        model.linear.b.copy_(torch.stack(bs))
    return model


def _affine_exact(w: torch.Tensor, b: torch.Tensor, x: torch.Tensor, t: float) -> torch.Tensor:
    """Exact x(t) of dx/dt = w x + b: exp of the block matrix [[w, b], [0, 0]] times (x, 1)."""
    d = w.shape[0]
    m = torch.zeros(d + 1, d + 1, dtype=torch.float64)
    m[:d, :d], m[:d, d] = w, b
    e = torch.linalg.matrix_exp(m * t)
    return x @ e[:d, :d].T + e[:d, d]


def _slope(steps: list[int], errors: list[float]) -> float:
    return float(np.polyfit(np.log(steps), np.log(errors), 1)[0])


# ------------------------------------------------------------------------------ exact solutions


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("time_mode", ["autonomous", "time", "piecewise"])
def test_zero_field_gives_the_identity(solver: str, time_mode: str) -> None:
    cfg = ModelConfig(family="node", solver=solver, time_mode=time_mode, segments=3, augment=1)
    model = build_model(cfg, n_classes=2, seed=0).double()
    with torch.no_grad():
        model.mlp.w2.zero_()
        model.mlp.b2.zero_()
        x0 = model.lift(X0)
        assert torch.equal(model.flow(x0), x0)


@pytest.mark.parametrize("T", [0.3, 1.0, 2.5])
def test_linear_field_matches_the_matrix_exponential(T: float) -> None:
    model = _affine_model([A], [B], T=T, **TIGHT)
    with torch.no_grad():
        torch.testing.assert_close(model.flow(X0), _affine_exact(A, B, X0, T), rtol=1e-8, atol=1e-8)


def test_cubic_field_matches_its_closed_form_solution() -> None:
    gamma, T = 0.7, 1.5
    model = build_model(ModelConfig(family="ruseckas", gamma=gamma, T=T, **TIGHT), 2).double()
    with torch.no_grad():
        model.linear.w.zero_()
        model.linear.b.zero_()
        exact = X0 / torch.sqrt(1 + 2 * gamma * X0**2 * T)
        torch.testing.assert_close(model.flow(X0), exact, rtol=1e-8, atol=1e-8)


# ------------------------------------------------------------------------------ orders


# Step ranges keep the error between ~1e-1 and ~1e-9: asymptotic, and far above float64 round-off.
@pytest.mark.parametrize(
    ("solver", "order", "steps"),
    [
        ("euler", 1, [20, 40, 80, 160, 320]),
        ("midpoint", 2, [20, 40, 80, 160, 320]),
        ("rk4", 4, [8, 16, 32, 64, 128]),
    ],
)
def test_fixed_step_solvers_converge_at_their_order(solver: str, order: int, steps: list) -> None:
    exact = _affine_exact(A, B, X0, 1.0)
    errors = []
    for n in steps:
        model = _affine_model([A], [B], solver=solver, steps=n)
        with torch.no_grad():
            errors.append(float((model.flow(X0) - exact).abs().max()))
    assert _slope(steps, errors) == pytest.approx(-order, abs=0.2)


def test_dopri5_error_falls_and_work_grows_as_the_tolerance_tightens() -> None:
    exact = _affine_exact(A, B, X0, 2.0)
    errors, nfes = [], []
    for tol in (1e-3, 1e-6, 1e-9):
        model = _affine_model([A], [B], T=2.0, solver="dopri5", rtol=tol, atol=tol)
        with torch.no_grad():
            errors.append(float((model.flow(X0) - exact).abs().max()))
        nfes.append(model.nfe)
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 1e-7
    assert nfes[0] < nfes[1] < nfes[2]


@pytest.mark.parametrize(("solver", "per_step"), [("euler", 1), ("midpoint", 2), ("rk4", 4)])
def test_fixed_step_work_is_steps_times_stages(solver: str, per_step: int) -> None:
    # 10 steps over 3 segments: each segment gets ceil(10 / 3) = 4 whole steps.
    model = _affine_model([A, -A, A.T], [B, B, -B], solver=solver, steps=10)
    with torch.no_grad():
        model.flow(X0)
    assert model.nfe == 3 * 4 * per_step


# ------------------------------------------------------------------------------ segments


def test_piecewise_model_equals_manual_composition_of_segment_solves() -> None:
    ws, bs = [A, -0.5 * A, A.T], [B, 2 * B, -B]
    model = _affine_model(ws, bs, solver="rk4", steps=12, T=1.2)
    x = X0
    bounds = model.segment_bounds()
    with torch.no_grad():
        for k in range(3):
            grid = torch.linspace(float(bounds[k]), float(bounds[k + 1]), 5, dtype=torch.float64)
            field = _Field(ws[k], bs[k])
            x = odeint(field, x, grid, method="rk4")[-1]
        torch.testing.assert_close(model.flow(X0), x, rtol=1e-14, atol=1e-14)


class _Field(torch.nn.Module):
    """dx/dt = w x + b for torchdiffeq."""

    def __init__(self, w: torch.Tensor, b: torch.Tensor) -> None:
        super().__init__()
        self.w, self.b = w, b

    def forward(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return x @ self.w.T + self.b


def _piecewise_exact(ws, bs, x: torch.Tensor, t: float, T: float) -> torch.Tensor:
    """Exact x(t) of the piecewise-affine field: matrix exponentials composed segment by segment."""
    k_sets = len(ws)
    for k in range(k_sets):
        lo, hi = k * T / k_sets, (k + 1) * T / k_sets
        if t <= lo:
            break
        x = _affine_exact(ws[k], bs[k], x, min(t, hi) - lo)
    return x


def test_solve_returns_states_at_requested_interior_times() -> None:
    ws, bs = [A, -0.5 * A, A.T], [B, 2 * B, -B]
    model = _affine_model(ws, bs, T=1.2, **TIGHT)
    # Interior points, segment bounds (0.4, 0.8) and both ends, in one call.
    times = torch.tensor([0.0, 0.1, 0.4, 0.55, 0.6, 0.8, 1.1, 1.2], dtype=torch.float64)
    with torch.no_grad():
        states = model.solve(X0, times)
    assert states.shape == (len(times), *X0.shape)
    for state, t in zip(states, times.tolist(), strict=True):
        torch.testing.assert_close(
            state, _piecewise_exact(ws, bs, X0, t, 1.2), rtol=1e-8, atol=1e-8
        )


@pytest.mark.parametrize("solver", ["euler", "midpoint", "rk4"])
def test_solver_grid_is_the_grid_the_fixed_step_solver_steps_through(solver: str) -> None:
    model = _affine_model([A, -A], [B, B], solver=solver, steps=6, T=0.9)
    grid = model.solver_grid()
    expected = torch.cat(
        [
            torch.linspace(0, 0.45, 4, dtype=torch.float64)[:-1],
            torch.linspace(0.45, 0.9, 4, dtype=torch.float64),
        ]
    )
    torch.testing.assert_close(grid, expected, rtol=0, atol=1e-15)
    with torch.no_grad():
        states = model.solve(X0, grid)
        # Stepping one grid interval at a time from each returned state reproduces the next one:
        # the returned states are solver nodes, not interpolations between them.
        for i in range(len(grid) - 1):
            k = model.segment_of(float(grid[i]))
            one = odeint(
                _Field(model.linear.w[k], model.linear.b[k]),
                states[i],
                grid[i : i + 2],
                method=solver,
            )[-1]
            torch.testing.assert_close(one, states[i + 1], rtol=1e-14, atol=1e-14)


# ------------------------------------------------------------------------------ errors


def test_unknown_solver_names_list_the_allowed_ones() -> None:
    with pytest.raises(ConfigError, match="solver='rk45'.*euler, midpoint, rk4, dopri5"):
        ModelConfig(solver="rk45")


def test_adaptive_solver_out_of_steps_raises_solver_failure() -> None:
    model = _affine_model(
        [10 * A], [B], T=5.0, solver="dopri5", rtol=1e-10, atol=1e-10, max_steps=10
    )
    with pytest.raises(SolverFailure, match="max_num_steps"), torch.no_grad():
        model.flow(X0)


def test_unknown_torchdiffeq_option_is_an_error_under_pytest() -> None:
    # pyproject.toml turns torchdiffeq's "Unexpected arguments" UserWarning into an error, so a
    # misspelt solver option can never pass the test suite silently.
    field = _Field(A, B)
    with pytest.raises(UserWarning, match="Unexpected arguments"):
        odeint(
            field,
            X0,
            torch.tensor([0.0, 1.0], dtype=torch.float64),
            method="rk4",
            options={"step_sise": 0.1},
        )
