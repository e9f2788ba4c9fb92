"""Trajectories against exact flows: a zero field is the identity, an affine field is a matrix
exponential, and a path ends where ``model.flow`` ends."""

import numpy as np
import pytest
import torch

from deqnet import ModelConfig, build_model, per_sample_loss, trajectory
from deqnet.analysis import default_times
from deqnet.losses import mean_loss

A1 = torch.tensor([[-0.3, 1.0], [-0.8, 0.2]], dtype=torch.float64)
A2 = torch.tensor([[0.4, -0.5], [0.6, -0.9]], dtype=torch.float64)
C1 = torch.tensor([0.3, -0.2], dtype=torch.float64)
C2 = torch.tensor([-0.1, 0.5], dtype=torch.float64)


def points(n: int = 7, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1.5, 1.5, size=(n, 2))


def affine_model(ws, bs, **config) -> torch.nn.Module:
    """ruseckas with gamma = 0: dx/dt = w_k x + b_k on segment k (one segment per (w, b))."""
    mode = {"time_mode": "piecewise", "segments": len(ws)} if len(ws) > 1 else {}
    cfg = ModelConfig(family="ruseckas", gamma=0.0, max_steps=20000, **mode, **config)
    model = build_model(cfg, 2, seed=0).double()
    with torch.no_grad():
        model.linear.w.copy_(torch.stack(ws))
        model.linear.b.copy_(torch.stack(bs))
    return model


def affine_flow(a: torch.Tensor, c: torch.Tensor, x: torch.Tensor, t: float) -> torch.Tensor:
    """Exact solution of dx/dt = a x + c after time t: e^{at} x + a^{-1} (e^{at} - I) c."""
    e = torch.linalg.matrix_exp(a * t)
    return x @ e.T + torch.linalg.solve(a, (e - torch.eye(len(c), dtype=a.dtype)) @ c)


def zero_field_model(family: str) -> torch.nn.Module:
    cfg = ModelConfig(family=family, augment=1, gamma=0.0, layers=6, steps=6)
    model = build_model(cfg, 2, seed=1).double()
    with torch.no_grad():
        if family in ("node", "resnet"):
            for p in model.mlp.parameters():
                p.zero_()
        else:
            eye = torch.eye(3, dtype=torch.float64)
            model.linear.w.copy_(eye if family == "feedforward" else 0 * eye)
            model.linear.b.zero_()
    return model


@pytest.mark.parametrize("family", ["node", "ruseckas", "resnet", "feedforward"])
def test_zero_field_is_the_identity(family: str) -> None:
    model = zero_field_model(family)
    x = points()
    traj = trajectory(model, x)
    lifted = np.concatenate([x, np.zeros((len(x), 1))], axis=1)
    assert traj.x.shape == (len(traj.t), len(x), 3)
    np.testing.assert_array_equal(traj.x, np.broadcast_to(lifted, traj.x.shape))


@pytest.mark.parametrize(
    ("solver", "times", "atol"),
    [
        # dopri5's dense output serves times between its steps.
        ({"solver": "dopri5", "rtol": 1e-10, "atol": 1e-10}, [0.0, 0.13, 0.5, 0.77, 1.0], 1e-8),
        # rk4 states are exact on its grid (between grid times they are interpolated linearly).
        ({"solver": "rk4", "steps": 200}, np.linspace(0.0, 1.0, 11), 1e-9),
    ],
)
def test_affine_field_matches_matrix_exponential(solver: dict, times, atol: float) -> None:
    model = affine_model([A1], [C1], **solver)
    x = torch.as_tensor(points(), dtype=torch.float64)
    traj = trajectory(model, x, np.asarray(times))
    np.testing.assert_array_equal(traj.t, times)
    for k, t in enumerate(times):
        np.testing.assert_allclose(traj.x[k], affine_flow(A1, C1, x, t), rtol=0, atol=atol)


def test_piecewise_affine_field_composes_segments() -> None:
    model = affine_model([A1, A2], [C1, C2], solver="rk4", steps=200, T=2.0)
    x = torch.as_tensor(points(), dtype=torch.float64)
    traj = trajectory(model, x, np.array([0.0, 0.5, 1.0, 1.5, 2.0]))
    mid = affine_flow(A1, C1, x, 1.0)
    expected = [x, affine_flow(A1, C1, x, 0.5), mid, affine_flow(A2, C2, mid, 0.5)]
    expected.append(affine_flow(A2, C2, mid, 1.0))
    np.testing.assert_allclose(traj.x, torch.stack(expected), rtol=0, atol=1e-9)


CONFIGS = [
    {"family": "node", "solver": "rk4", "steps": 7},
    {"family": "node", "solver": "euler", "time_mode": "time", "augment": 1},
    {"family": "node", "solver": "dopri5", "time_mode": "piecewise", "segments": 3},
    {"family": "ruseckas", "solver": "midpoint", "time_mode": "piecewise", "segments": 3},
    {"family": "ruseckas", "solver": "dopri5", "augment": 2},
    {"family": "resnet", "time_mode": "piecewise", "segments": 5, "layers": 10},
    {"family": "resnet", "time_mode": "time", "augment": 1},
    {"family": "feedforward", "time_mode": "piecewise", "segments": 3, "layers": 7},
]


@pytest.mark.parametrize("double", [True, False])
@pytest.mark.parametrize("config", CONFIGS)
def test_trajectory_ends_where_the_flow_ends(config: dict, double: bool) -> None:
    model = build_model(ModelConfig(T=1.3, **config), 2, seed=2)
    model = model.double() if double else model
    x = points(9)
    traj = trajectory(model, x)
    with torch.no_grad():
        end = model.flow(model.lift(torch.as_tensor(x))).numpy()
    assert traj.x.dtype == (np.float64 if double else np.float32)
    np.testing.assert_allclose(traj.t, default_times(model))
    np.testing.assert_allclose(traj.x[0, :, :2], x, rtol=0, atol=1e-7)
    np.testing.assert_allclose(traj.x[-1], end, rtol=1e-10 if double else 1e-5, atol=1e-12)


@pytest.mark.parametrize("segments", [1, 3, 7])
@pytest.mark.parametrize("solver", ["rk4", "dopri5"])
def test_default_times_include_ends_and_solver_grid(solver: str, segments: int) -> None:
    cfg = ModelConfig(solver=solver, time_mode="piecewise", segments=segments, steps=20, T=2.5)
    model = build_model(cfg, 2, seed=0)
    times = default_times(model)
    assert times.dtype == np.float64
    assert times[0] == 0.0 and times[-1] == 2.5
    assert np.all(np.diff(times) > 0)
    assert np.all(np.isin(model.solver_grid().numpy(), times))
    uniform = np.linspace(0.0, 2.5, 41)
    assert np.abs(uniform[:, None] - times[None, :]).min(axis=1).max() < 1e-6


def test_discrete_trajectory_is_the_layer_states() -> None:
    model = build_model(ModelConfig(family="resnet", layers=8, T=2.0), 2, seed=3).double()
    x = points()
    traj = trajectory(model, x, times=np.array([0.3]))
    np.testing.assert_allclose(traj.t, 0.25 * np.arange(9), rtol=0, atol=1e-15)
    np.testing.assert_array_equal(default_times(model), traj.t)
    with torch.no_grad():
        states = model.layer_states(model.lift(torch.as_tensor(x))).numpy()
    np.testing.assert_array_equal(traj.x, states)


def test_bad_times_and_inputs_are_rejected() -> None:
    model = affine_model([A1], [C1])
    with pytest.raises(ValueError, match="increasing"):
        trajectory(model, points(), np.array([0.0, 0.6, 0.4]))
    with pytest.raises(ValueError, match=r"\[0, T\]"):
        trajectory(model, points(), np.array([0.0, 1.5]))
    with pytest.raises(ValueError, match="shape"):
        trajectory(model, np.zeros((4, 3)))


@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_per_sample_loss(loss: str) -> None:
    model = build_model(ModelConfig(family="node", augment=1), 3, seed=4).double()
    x, y = points(12), np.arange(12) % 3
    losses = per_sample_loss(model, x, y, loss)
    with torch.no_grad():
        logits = model(torch.as_tensor(x)).numpy()
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    if loss == "cross_entropy":
        expected = -np.log(p[np.arange(12), y])
    else:
        expected = ((p - np.eye(3)[y]) ** 2).sum(axis=1)
    np.testing.assert_allclose(losses, expected, rtol=1e-12)
    mean = mean_loss(torch.as_tensor(logits), torch.as_tensor(y), loss)
    np.testing.assert_allclose(losses.mean(), float(mean), rtol=1e-12)


@pytest.mark.parametrize("family", ["node", "resnet"])
def test_model_is_left_untouched(family: str) -> None:
    model = build_model(ModelConfig(family=family), 2, seed=0)
    model.nfe = 5
    x = points()
    trajectory(model, x)
    per_sample_loss(model, x, np.zeros(len(x), dtype=np.int64))
    assert model.nfe == 5
    assert all(p.grad is None for p in model.parameters())
