"""The momentum a(t) = dℓ/dx(t), H = a·F, (M4) and dL/dT against autograd, closed forms and FD.

Continuous models are float64 with dopri5 at rtol = atol = 1e-10 unless a test says otherwise, so
the tolerances are those of paper notes §7.
"""

import copy

import numpy as np
import pytest
import torch

from deqnet import ModelConfig, build_model
from deqnet.analysis.adjoint import (
    adjoint_parameter_gradients,
    autograd_input_gradient,
    autograd_parameter_gradients,
    depth_sensitivity,
    momentum,
    rebuild_model,
)
from deqnet.analysis.paths import default_times

TIGHT = {"solver": "dopri5", "rtol": 1e-10, "atol": 1e-10, "max_steps": 20000}
CASES = {
    "node": {"family": "node", "activation": "tanh"},
    "ruseckas": {"family": "ruseckas", "nonlinearity": "cubic", "gamma": 0.5},
    "node-piecewise": {"family": "node", "time_mode": "piecewise", "segments": 3},
    "node-time": {"family": "node", "time_mode": "time"},
}


def tight_model(seed: int = 3, **config):
    return build_model(ModelConfig(**{**TIGHT, **config}), n_classes=2, seed=seed).double()


def points(n: int = 6, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(n, 2, generator=g, dtype=torch.float64) - 0.5) * 3
    return x, torch.arange(n) % 2


def relative(a: np.ndarray, b: np.ndarray) -> float:
    """Max over points (rows) of |a - b| / |b|."""
    return float(np.max(np.linalg.norm(a - b, axis=-1) / np.linalg.norm(b, axis=-1)))


def point_loss_gradient(model, states: torch.Tensor, y: torch.Tensor, loss: str) -> np.ndarray:
    """dℓ_i/dx_i of the readout loss at states (N, D), written out independently of deqnet."""
    states = states.detach().requires_grad_(True)
    logits = model.readout(states)
    if loss == "cross_entropy":
        per_point = -torch.log_softmax(logits, 1)[torch.arange(len(y)), y]
    else:
        per_point = ((logits.softmax(1) - torch.eye(logits.shape[1])[y]) ** 2).sum(1)
    return torch.autograd.grad(per_point.sum(), states)[0].numpy()


def simpson(values: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Composite Simpson integral over axis 0 on an odd number of equally spaced times."""
    h = t[1] - t[0]
    return h / 3 * (values[0] + 4 * values[1:-1:2].sum(0) + 2 * values[2:-1:2].sum(0) + values[-1])


@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
@pytest.mark.parametrize("case", ["node", "ruseckas"])
def test_final_momentum_is_the_loss_gradient_at_the_readout(case, loss):
    model = tight_model(**CASES[case])
    x, y = points()
    mom = momentum(model, x, y, loss=loss)
    with torch.no_grad():
        x_final = model.flow(model.lift(x))
    np.testing.assert_allclose(mom.x[-1], x_final.numpy(), rtol=0, atol=1e-14)
    expected = point_loss_gradient(model, x_final, y, loss)
    np.testing.assert_allclose(mom.a[-1], expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("case", list(CASES))
def test_adjoint_a0_equals_autograd_gradient(case):
    model = tight_model(**CASES[case])
    x, y = points()
    mom = momentum(model, x, y)
    assert relative(mom.a[0], autograd_input_gradient(model, x, y)) < 1e-6
    # x integrated backwards with a returns to the inputs (the drift the docstring warns about).
    np.testing.assert_allclose(mom.x[0], model.lift(x).numpy(), atol=1e-8)


def test_momentum_at_time_t_is_the_gradient_of_the_remaining_network():
    # Autonomous F: the flow from t to T is the model of depth T - t, so a(t) = dℓ/dx(t) is that
    # model's input gradient at x(t).
    model = tight_model(**CASES["node"])
    x, y = points()
    mom = momentum(model, x, y, times=np.array([0.0, 0.4, 0.75, 1.0]))
    for j in (1, 2):
        rest = rebuild_model(model, T=1.0 - mom.t[j])
        assert relative(mom.a[j], autograd_input_gradient(rest, mom.x[j], y)) < 1e-6


def relative_spread(h: np.ndarray) -> np.ndarray:
    """peak-to-peak / mean |H| of each point, H (K, N)."""
    return np.ptp(h, axis=0) / np.abs(h).mean(axis=0)


@pytest.mark.parametrize("case", ["node", "ruseckas"])
def test_hamiltonian_is_conserved_for_autonomous_fields(case):
    model = tight_model(**CASES[case])
    x, y = points()
    mom = momentum(model, x, y)
    assert np.abs(mom.H).min() > 1e-4  # the check is relative, so H must be visibly nonzero
    assert relative_spread(mom.H).max() < 1e-6


def test_hamiltonian_is_stepwise_for_piecewise_weights():
    model = tight_model(**CASES["node-piecewise"])
    x, y = points()
    bounds = model.segment_bounds().numpy()
    inside = [np.linspace(bounds[k], bounds[k + 1], 7)[1:-1] for k in range(3)]
    mom = momentum(model, x, y, times=np.concatenate(inside))
    segments = np.split(mom.H, 3)
    for h in segments:
        assert relative_spread(h).max() < 1e-6
    levels = np.stack([h.mean(0) for h in segments])
    jumps = np.abs(np.diff(levels, axis=0)) / np.abs(levels).mean(0)
    assert jumps.max() > 1e-3


def test_hamiltonian_drifts_at_the_rate_dH_dt_equal_partial_H_partial_t():
    model = tight_model(**CASES["node-time"])
    x, y = points()
    t = np.linspace(0.0, 1.0, 201)
    mom = momentum(model, x, y, times=t)
    assert relative_spread(mom.H).min() > 1e-2  # visibly not conserved
    rates = []
    for t_k, x_k, a_k in zip(t, mom.x, mom.a, strict=True):
        time = torch.tensor(t_k, requires_grad=True)
        field = model.segment_field(0, time, torch.from_numpy(x_k))
        rates.append(torch.autograd.grad((torch.from_numpy(a_k) * field).sum(), time)[0])
    # ∂H/∂t is per point, but autograd summed over points: compare the sum of H over points.
    change = mom.H[-1].sum() - mom.H[0].sum()
    assert abs(simpson(np.array(rates), t) - change) < 1e-6 * np.abs(mom.H).sum(1).mean()


@pytest.mark.parametrize(
    "config",
    [
        {"family": "resnet"},
        {"family": "resnet", "time_mode": "piecewise", "segments": 10, "layers": 10},
        {"family": "resnet", "time_mode": "time"},
        {"family": "feedforward", "gamma": 0.5},
    ],
)
def test_discrete_momentum_is_backprop_through_the_layers(config):
    model = build_model(ModelConfig(**config), n_classes=2, seed=1).double()
    x, y = points()
    mom = momentum(model, x, y)
    twin = copy.deepcopy(model)
    states = [twin.lift(x).requires_grad_(True)]
    for layer in range(twin.layers):
        states.append(twin.step(layer, states[-1]))
        states[-1].retain_grad()
    logits = twin.readout(states[-1])
    (-torch.log_softmax(logits, 1)[torch.arange(len(y)), y]).sum().backward()
    expected = torch.stack([s.grad for s in states]).numpy()
    np.testing.assert_allclose(mom.a, expected, rtol=1e-12, atol=1e-15)
    dt = model.dt
    np.testing.assert_allclose(mom.t, np.arange(model.layers + 1) * dt)
    velocity = np.diff(mom.x, axis=0) / dt
    np.testing.assert_allclose(mom.H[:-1], (mom.a[1:] * velocity).sum(2), rtol=1e-12)
    np.testing.assert_array_equal(mom.H[-1], mom.H[-2])


@pytest.mark.parametrize("case", list(CASES))
def test_adjoint_parameter_gradients_equal_autograd(case):
    model = tight_model(**CASES[case])
    x, y = points()
    adjoint = adjoint_parameter_gradients(model, x, y)
    auto = autograd_parameter_gradients(model, x, y)
    assert set(adjoint) == {n for n, _ in model.named_parameters() if not n.startswith("readout")}
    for name, grad in auto.items():
        assert adjoint[name].shape == grad.shape
        assert np.linalg.norm(adjoint[name] - grad) < 1e-6 * np.linalg.norm(grad)


def test_ruseckas_parameter_gradients_are_the_closed_form_integrals():
    # (P1): dL/dw_ij = ∫ a_i x_j dt and dL/db_i = ∫ a_i dt with a = d(mean loss)/dx.
    model = tight_model(**CASES["ruseckas"])
    x, y = points()
    t = np.linspace(0.0, 1.0, 401)
    mom = momentum(model, x, y, times=t)
    a = mom.a / len(y)
    dw = simpson(np.einsum("kni,knj->kij", a, mom.x), t)
    db = simpson(a.sum(1), t)
    auto = autograd_parameter_gradients(model, x, y)
    np.testing.assert_allclose(dw, auto["linear.w"][0], rtol=1e-6)
    np.testing.assert_allclose(db, auto["linear.b"][0], rtol=1e-6)


@pytest.mark.parametrize(
    "config",
    [CASES["node"], CASES["ruseckas"], CASES["node-time"], {**CASES["node"], "T": 10.0}],
    ids=["node", "ruseckas", "node-time", "node-T-max"],
)
def test_final_hamiltonian_is_the_depth_derivative_of_the_loss(config):
    # Deepening an autonomous or time-input model extends the same field, so dL/dT = H(T); at
    # the largest T the finite difference is one-sided.
    model = tight_model(**config)
    x, y = points()
    h_final, fd = depth_sensitivity(model, x, y)
    assert abs(h_final - fd) < 1e-4 * abs(fd)
    mom = momentum(model, x, y, times=np.array([model.config.T]))
    assert h_final == pytest.approx(mom.H[-1].mean(), rel=1e-12)


@pytest.mark.parametrize("steps", [(4, 8, 16)])
def test_rk4_adjoint_approaches_autograd_at_fourth_order(steps):
    # rk4 on the adjoint ODE and autograd through rk4 both approximate dℓ/dx(0) to O(h^4).
    x, y = points()
    errors = []
    for n in steps:
        model = build_model(ModelConfig(solver="rk4", steps=n), n_classes=2, seed=3).double()
        a0 = momentum(model, x, y, times=np.array([0.0, 1.0])).a[0]
        errors.append(relative(a0, autograd_input_gradient(model, x, y)))
    slope = np.polyfit(np.log(steps), np.log(errors), 1)[0]
    assert -4.5 < slope < -3.5


@pytest.mark.parametrize("family", ["node", "resnet"])
def test_analysis_leaves_the_model_as_it_was(family):
    model = build_model(ModelConfig(family=family), n_classes=2, seed=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.nfe = 7
    x, y = points()
    mom = momentum(model, x, y)
    autograd_input_gradient(model, x, y)
    autograd_parameter_gradients(model, x, y)
    if family == "node":
        adjoint_parameter_gradients(model, x, y)
        depth_sensitivity(model, x, y)
        assert mom.t.tolist() == default_times(model).tolist()
    assert model.nfe == 7
    assert all(p.grad is None for p in model.parameters())
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key])
    assert mom.a.dtype == np.float32 and mom.H.shape == mom.a.shape[:2]


def test_invalid_times_and_families_are_rejected():
    model = build_model(ModelConfig(), n_classes=2, seed=0)
    x, y = points()
    with pytest.raises(ValueError, match="increasing"):
        momentum(model, x, y, times=np.array([0.5, 0.2]))
    with pytest.raises(ValueError, match="lie in"):
        momentum(model, x, y, times=np.array([0.0, 2.0]))
    network = build_model(ModelConfig(family="feedforward"), n_classes=2, seed=0)
    for fn in (adjoint_parameter_gradients, depth_sensitivity):
        with pytest.raises(TypeError, match="continuous"):
            fn(network, x, y)
