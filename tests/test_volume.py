"""x-space volume (paper notes §3.4, §7): divergence against finite differences and closed forms,
log|det dx(T)/dx(0)| against the integrated divergence, and exact answers for affine flows."""

import numpy as np
import pytest
import torch

from deqnet import ModelConfig, Trajectory, build_model, trajectory
from deqnet.analysis import (
    cloud_log_volume,
    divergence,
    jacobian_logdet,
    log_volume_change,
    mean_divergence,
)

A = torch.tensor([[-0.3, 1.0], [-0.8, 0.2]], dtype=torch.float64)
C = torch.tensor([0.3, -0.2], dtype=torch.float64)
TIGHT = {"solver": "dopri5", "rtol": 1e-10, "atol": 1e-10, "max_steps": 20000}


def points(n: int = 6, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1.5, 1.5, size=(n, 2))


def states(n: int, d: int, seed: int = 1) -> torch.Tensor:
    return torch.as_tensor(np.random.default_rng(seed).normal(size=(n, d)))


def affine_model(**config) -> torch.nn.Module:
    """ruseckas with gamma = 0, w = A, b = C: dx/dt = A x + C."""
    model = build_model(ModelConfig(family="ruseckas", gamma=0.0, **config), 2, seed=0).double()
    with torch.no_grad():
        model.linear.w[0] = A
        model.linear.b[0] = C
    return model


def fd_jacobian(fn, x: torch.Tensor, h: float = 1e-6) -> torch.Tensor:
    """Central finite-difference Jacobians (N, D, D) of a pointwise map."""
    cols = []
    for j in range(x.shape[1]):
        e = torch.zeros_like(x)
        e[:, j] = h
        cols.append((fn(x + e) - fn(x - e)) / (2 * h))
    return torch.stack(cols, dim=2)


def test_divergence_matches_finite_differences() -> None:
    cfg = ModelConfig(family="node", augment=1, time_mode="time", width=8)
    model = build_model(cfg, 2, seed=3).double()
    x = states(5, 3)
    with torch.no_grad():
        jac = fd_jacobian(lambda s: model.field(0.6, s), x)
    expected = jac.diagonal(dim1=1, dim2=2).sum(dim=1)
    np.testing.assert_allclose(divergence(model, 0.6, x), expected, rtol=0, atol=1e-8)


@pytest.mark.parametrize("nonlinearity", ["cubic", "sine"])
def test_ruseckas_divergence_is_trace_w_plus_g_prime(nonlinearity: str) -> None:
    cfg = ModelConfig(
        family="ruseckas", augment=1, time_mode="piecewise", segments=2, gamma=0.7,
        nonlinearity=nonlinearity,
    )  # fmt: skip
    model = build_model(cfg, 2, seed=4).double()
    x = states(6, 3)
    # g'(x) = -3 gamma x^2 (cubic) or -gamma cos x (sine).
    g_prime = -3 * 0.7 * x**2 if nonlinearity == "cubic" else -0.7 * torch.cos(x)
    for t, k in [(0.2, 0), (0.8, 1)]:
        expected = torch.trace(model.linear.w[k].detach()) + g_prime.sum(dim=1)
        np.testing.assert_allclose(divergence(model, t, x), expected, rtol=1e-13, atol=1e-13)


def test_feedforward_divergence_is_the_layer_log_det_rate() -> None:
    # x_{l+1} = h(W x + B), h(y) = y - gamma dt y^3: J = diag(1 - 3 gamma dt y^2) W.
    cfg = ModelConfig(family="feedforward", time_mode="piecewise", segments=4, layers=4, gamma=0.3)
    model = build_model(cfg, 2, seed=5).double()
    x, dt = states(7, 2), 0.25
    w, b = model.linear.w[2].detach(), model.linear.b[2].detach()
    y = x @ w.T + b
    log_det = torch.log(torch.abs(torch.det(w))) + torch.log(torch.abs(1 - 0.9 * dt * y**2)).sum(1)
    np.testing.assert_allclose(divergence(model, 0.5, x), log_det / dt, rtol=1e-12)


def test_resnet_divergence_matches_finite_differences() -> None:
    model = build_model(ModelConfig(family="resnet", augment=1, layers=5), 2, seed=6).double()
    x = states(4, 3)
    with torch.no_grad():
        jac = fd_jacobian(lambda s: model.step(1, s), x)
    expected = torch.linalg.slogdet(jac).logabsdet / model.dt
    np.testing.assert_allclose(divergence(model, 0.21, x), expected, rtol=0, atol=1e-8)


@pytest.mark.parametrize(
    "config",
    [
        {"family": "node", "augment": 1, "width": 8},
        {"family": "node", "time_mode": "piecewise", "segments": 2, "width": 8},
        {"family": "ruseckas", "gamma": 0.5, "augment": 1},
        {"family": "ruseckas", "gamma": 0.5, "time_mode": "piecewise", "segments": 3},
    ],
)
def test_x_space_volume_is_the_integrated_divergence(config: dict) -> None:
    model = build_model(ModelConfig(T=1.5, **TIGHT, **config), 2, seed=7).double()
    x = points()
    log_v = log_volume_change(model, x, times=np.array([0.0, 0.7, 1.5]))
    np.testing.assert_array_equal(log_v[0], 0.0)
    np.testing.assert_allclose(jacobian_logdet(model, x), log_v[-1], rtol=0, atol=1e-6)
    assert np.abs(log_v[-1]).max() > 1e-2  # the flow really changes volume


def test_affine_flow_volume_is_t_trace_a() -> None:
    # Tr dF/dx = Tr A is constant, so even Euler integrates log v exactly, at every time.
    model = affine_model(solver="euler", steps=3)
    times = np.array([0.0, 0.2, 1 / 3, 0.9, 1.0])
    log_v = log_volume_change(model, points(), times)
    expected = np.broadcast_to(times[:, None] * float(torch.trace(A)), log_v.shape)
    np.testing.assert_allclose(log_v, expected, rtol=0, atol=1e-14)
    # The Euler map is (I + A/3)^3 x + const: its log-det is 3 log|det(I + A/3)|, not Tr A.
    euler = 3 * np.log(abs(np.linalg.det(np.eye(2) + A.numpy() / 3)))
    np.testing.assert_allclose(jacobian_logdet(model, points()), euler, rtol=1e-13)
    exact = jacobian_logdet(affine_model(**TIGHT), points())
    np.testing.assert_allclose(exact, float(torch.trace(A)), rtol=0, atol=1e-8)


@pytest.mark.parametrize("family", ["resnet", "feedforward"])
def test_discrete_volume_sums_the_layer_log_dets(family: str) -> None:
    cfg = ModelConfig(family=family, augment=1, time_mode="piecewise", segments=3, layers=6)
    model = build_model(cfg, 2, seed=8).double()
    x = points()
    log_v = log_volume_change(model, x)
    traj = trajectory(model, x)
    assert log_v.shape == (7, len(x))
    np.testing.assert_array_equal(log_v[0], 0.0)
    np.testing.assert_allclose(jacobian_logdet(model, x), log_v[-1], rtol=1e-12, atol=1e-12)
    for layer in range(6):
        step = divergence(model, traj.t[layer], traj.x[layer]) * model.dt
        np.testing.assert_allclose(log_v[layer + 1] - log_v[layer], step, rtol=1e-12, atol=1e-14)


def test_cloud_log_volume_of_an_exact_affine_flow() -> None:
    # Covariance moves as e^{At} S e^{A^T t}: half its log-det grows by t Tr A.
    x0 = torch.as_tensor(np.random.default_rng(9).normal(size=(50, 2)))
    times = np.array([0.0, 0.5, 1.0, 2.0])
    e = [torch.linalg.matrix_exp(A * t) for t in times]
    x = np.stack([(x0 @ m.T + torch.linalg.solve(A, (m - torch.eye(2)) @ C)).numpy() for m in e])
    vol = cloud_log_volume(Trajectory(t=times, x=x))
    np.testing.assert_allclose(vol - vol[0], times * float(torch.trace(A)), rtol=0, atol=1e-12)
    np.testing.assert_allclose(vol[0], 0.5 * np.log(np.linalg.det(np.cov(x[0].T))), rtol=1e-12)


def test_cloud_log_volume_along_a_solved_affine_flow() -> None:
    model = affine_model(**TIGHT)
    traj = trajectory(model, points(40), times=np.linspace(0.0, 1.0, 6))
    vol = cloud_log_volume(traj)
    np.testing.assert_allclose(vol - vol[0], traj.t * float(torch.trace(A)), rtol=0, atol=1e-8)
    np.testing.assert_allclose(mean_divergence(model, traj), float(torch.trace(A)), rtol=1e-13)


def test_cloud_of_an_augmented_model_starts_flat() -> None:
    model = build_model(ModelConfig(family="node", augment=1), 2, seed=0).double()
    vol = cloud_log_volume(trajectory(model, points(20)))
    assert vol[0] == -np.inf and np.isfinite(vol[1:]).all()


def test_mean_divergence_of_the_cubic_field() -> None:
    model = build_model(ModelConfig(family="ruseckas", gamma=0.4, augment=1), 2, seed=10)
    model = model.double()
    traj = trajectory(model, points(15))
    trace_w = float(torch.trace(model.linear.w[0].detach()))
    expected = trace_w - 1.2 * (traj.x**2).sum(axis=2).mean(axis=1)
    np.testing.assert_allclose(mean_divergence(model, traj), expected, rtol=1e-12)


@pytest.mark.parametrize("family", ["node", "ruseckas", "resnet", "feedforward"])
def test_volume_functions_leave_the_model_untouched(family: str) -> None:
    model = build_model(ModelConfig(family=family), 2, seed=0)
    model.nfe = 4
    x = points()
    traj = trajectory(model, x)
    divergence(model, 0.5, traj.x[1])
    log_volume_change(model, x)
    jacobian_logdet(model, x)
    mean_divergence(model, traj)
    assert model.nfe == 4
    assert all(p.grad is None for p in model.parameters())
