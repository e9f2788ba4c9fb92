"""Tests for deqnet.maps: depth <-> time parameter maps, checked against the mathematics of §5.

- node -> resnet is the Euler method: the network equals the ODE solved with solver="euler";
- ruseckas -> feedforward is (P4), which equals the Euler-like step (P3) of (P1) exactly;
- both discretisations and their back-propagation converge to the ODE with global error O(dt).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deqnet import ConfigError, ModelConfig, build_model, momentum
from deqnet.maps import continuize, discretize
from deqnet.models import ContinuousModel, DiscreteModel
from deqnet.models.blocks import small_nonlinearity

LAYER_COUNTS = (10, 20, 40, 80, 160)
# Tight reference solves: dopri5 at 1e-10 is ~1e-9 accurate, far below the O(dt) errors measured.
TIGHT = {"solver": "dopri5", "rtol": 1e-10, "atol": 1e-10, "max_steps": 20000}
CONTINUOUS_CASES = [
    ("node", "autonomous"),
    ("node", "time"),
    ("node", "piecewise"),
    ("ruseckas", "autonomous"),
    ("ruseckas", "piecewise"),
]


def _continuous(family: str, time_mode: str, **overrides) -> ContinuousModel:
    """A float64 continuous model with 3 classes, augment 1 (D = 3) and segments 5."""
    values = {"family": family, "time_mode": time_mode, "augment": 1, "segments": 5, "gamma": 0.5}
    model = build_model(ModelConfig(**{**values, **overrides}), n_classes=3, seed=3)
    return model.double()


def _inputs(n: int = 24, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs (n, 2) float64 and labels (n,) in 0..2."""
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(n, 2, generator=g, dtype=torch.float64),
        torch.randint(0, 3, (n,), generator=g),
    )


def _slope(counts: tuple[int, ...], errors: list[float]) -> float:
    """Least-squares slope of log(error) against log(L)."""
    return float(np.polyfit(np.log(counts), np.log(errors), 1)[0])


def _input_gradient(model, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """a(0) = dℓ_i/dx_i(0) (N, D) by autograd; the summed loss separates over points."""
    x0 = model.lift(x).requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(model.readout(model.flow(x0)), y, reduction="sum")
    return torch.autograd.grad(loss, x0)[0]


# ------------------------------------------------------------------------------ parameter maps


@pytest.mark.parametrize(("family", "time_mode"), CONTINUOUS_CASES)
def test_round_trip_gives_identical_parameters(family: str, time_mode: str) -> None:
    model = _continuous(family, time_mode)
    back = continuize(discretize(model, 20))
    assert type(back) is type(model)
    assert back.config == model.config.replace(solver="euler", steps=20, layers=20)
    original, restored = model.state_dict(), back.state_dict()
    assert original.keys() == restored.keys()
    for name, value in original.items():
        if family == "node" or name.startswith("readout."):
            assert torch.equal(restored[name], value), name  # plain copies
        else:
            # w = ((I + dt w) - I) / dt loses only the rounding of I + dt w: eps / dt.
            torch.testing.assert_close(restored[name], value, rtol=0, atol=50 * 2.2e-16 / 0.05)


@pytest.mark.parametrize("family", ["resnet", "feedforward"])
def test_discrete_round_trip_gives_identical_parameters(family: str) -> None:
    config = ModelConfig(family=family, time_mode="piecewise", segments=4, layers=12, T=0.6)
    model = build_model(config, n_classes=2, seed=1).double()
    back = discretize(continuize(model, solver="rk4"), 12)
    assert back.config == model.config.replace(solver="rk4", steps=12)  # the ODE's solver stays
    for name, value in model.state_dict().items():
        torch.testing.assert_close(back.state_dict()[name], value, rtol=0, atol=1e-13)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_maps_keep_dtype_depth_readout_and_leave_the_source_alone(dtype: torch.dtype) -> None:
    model = _continuous("ruseckas", "piecewise", T=0.7).to(dtype)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    net = discretize(model, np.int64(10))  # numpy integers are accepted as layer counts
    assert isinstance(net, DiscreteModel) and net.config.family == "feedforward"
    assert net.dtype == dtype and net.config.T == 0.7 and net.layers == 10
    assert net.config.segments == 5 and net.config.time_mode == "piecewise"
    assert torch.equal(net.readout.weight, model.readout.weight)
    assert torch.equal(net.readout.bias, model.readout.bias)
    ode = continuize(net, solver="dopri5")
    assert ode.dtype == dtype and ode.config.solver == "dopri5" and ode.config.T == 0.7
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name]), name
    # The new models own fresh leaf parameters: training one never moves the other.
    assert all(p.is_leaf and p.requires_grad for p in net.parameters())
    assert all(p.data_ptr() != q.data_ptr() for p in net.parameters() for q in model.parameters())


def test_continuize_default_steps_are_the_layers() -> None:
    net = build_model(ModelConfig(family="resnet", layers=37), n_classes=2, seed=0)
    ode = continuize(net)
    assert ode.config.family == "node" and ode.config.solver == "euler"
    assert ode.config.steps == 37
    assert continuize(net, steps=5).config.steps == 5


def test_feedforward_initialisation_is_the_discretised_ruseckas_initialisation() -> None:
    # StackedLinear draws the same w0, b0 for both families; (P4) pairs them exactly.
    config = ModelConfig(family="feedforward", time_mode="piecewise", segments=3, layers=9)
    net = build_model(config, n_classes=2, seed=5).double()
    ode = build_model(config.replace(family="ruseckas"), n_classes=2, seed=5).double()
    for name, value in continuize(net).state_dict().items():
        torch.testing.assert_close(value, ode.state_dict()[name], rtol=1e-6, atol=1e-6)


def test_wrong_direction_and_bad_arguments_raise_clear_errors() -> None:
    node = _continuous("node", "piecewise")
    resnet = discretize(node, 10)
    with pytest.raises(ConfigError, match="discretize needs a continuous model.*'resnet'"):
        discretize(resnet, 10)
    with pytest.raises(ConfigError, match="continuize needs a discrete model.*'node'"):
        continuize(node)
    with pytest.raises(ConfigError, match="segments=5 exceeds layers=4"):
        discretize(node, 4)
    with pytest.raises(ConfigError, match="layers must be an integer"):
        discretize(node, 10.0)
    with pytest.raises(ConfigError, match="out of range; allowed 1 to 200"):
        discretize(node, 0)
    with pytest.raises(ConfigError, match="euler, midpoint, rk4, dopri5"):
        continuize(resnet, solver="rk45")


# ------------------------------------------------------------------------------ exact identities


@pytest.mark.parametrize("time_mode", ["autonomous", "time", "piecewise"])
def test_resnet_of_a_node_is_its_euler_solution(time_mode: str) -> None:
    layers = 20  # a multiple of segments = 5: each weight segment gets whole Euler steps
    node = _continuous("node", time_mode, T=1.3)
    euler = build_model(node.config.replace(solver="euler", steps=layers), n_classes=3).double()
    euler.load_state_dict(node.state_dict())
    net = discretize(node, layers)
    x, _ = _inputs()
    x0 = node.lift(x)
    with torch.no_grad():
        states = net.layer_states(x0)
        times = torch.arange(layers + 1, dtype=torch.float64) * net.dt
        solved = euler.solve(x0, times)
    torch.testing.assert_close(states, solved, rtol=0, atol=1e-13)


@pytest.mark.parametrize("nonlinearity", ["cubic", "sine"])
def test_feedforward_layer_is_the_p3_step_of_p1(nonlinearity: str) -> None:
    ode = _continuous("ruseckas", "piecewise", nonlinearity=nonlinearity, gamma=0.8)
    net = discretize(ode, 10)
    dt, cfg = net.dt, ode.config
    x, _ = _inputs(n=50)
    x = ode.lift(3 * x)  # away from 0, where g is far from linear
    with torch.no_grad():
        for layer in range(net.layers):
            k = net.segment_of_layer(layer)
            assert k == ode.segment_of(layer * dt + 1e-12)  # the segment that holds t_l
            w, b = ode.linear.w[k], ode.linear.b[k]
            linear = x + dt * (x @ w.T + b)
            p3 = linear + dt * small_nonlinearity(-cfg.gamma, cfg.nonlinearity, linear)  # (P3)
            big_w, big_b = net.linear.w[k], net.linear.b[k]
            p4 = net.activation(x @ big_w.T + big_b)  # (P4): h(W x + B)
            torch.testing.assert_close(p4, p3, rtol=1e-14, atol=1e-14)
            torch.testing.assert_close(net.step(layer, x), p3, rtol=1e-14, atol=1e-14)


# ------------------------------------------------------------------------------ convergence


@pytest.mark.parametrize(("family", "time_mode"), CONTINUOUS_CASES)
def test_discrete_states_converge_to_the_ode_at_first_order(family: str, time_mode: str) -> None:
    ode = _continuous(family, time_mode, **TIGHT)
    x, _ = _inputs()
    x0 = ode.lift(x)
    with torch.no_grad():
        reference = ode.flow(x0)
        errors = [float((discretize(ode, L).flow(x0) - reference).norm()) for L in LAYER_COUNTS]
    assert _slope(LAYER_COUNTS, errors) == pytest.approx(-1.0, abs=0.15)


@pytest.mark.parametrize(("family", "time_mode"), CONTINUOUS_CASES)
def test_discrete_backprop_converges_to_the_continuous_adjoint(family: str, time_mode: str) -> None:
    # Reference a(0) = dℓ/dx(0) of the ODE, by autograd through a tight dopri5 solve (equal to
    # the adjoint ODE's a(0) up to the solver tolerance, paper-notes §2).
    ode = _continuous(family, time_mode, **TIGHT)
    x, y = _inputs()
    reference = _input_gradient(ode, x, y)
    errors = [
        float((_input_gradient(discretize(ode, L), x, y) - reference).norm()) for L in LAYER_COUNTS
    ]
    assert _slope(LAYER_COUNTS, errors) == pytest.approx(-1.0, abs=0.15)


@pytest.mark.parametrize("time_mode", ["autonomous", "piecewise"])
def test_feedforward_momentum_converges_to_the_adjoint_ode_momentum(time_mode: str) -> None:
    # Same statement through deqnet.momentum: a(0) from the adjoint ODE (M3) integrated backwards
    # versus a_0 back-propagated through the (P4) layers.
    ode = _continuous("ruseckas", time_mode, **TIGHT)
    x, y = _inputs()
    a0 = momentum(ode, x, y, times=np.array([0.0, ode.config.T])).a[0]
    np.testing.assert_allclose(a0, _input_gradient(ode, x, y).numpy(), rtol=1e-6, atol=1e-9)
    errors = [
        float(np.linalg.norm(momentum(discretize(ode, L), x, y).a[0] - a0)) for L in LAYER_COUNTS
    ]
    assert _slope(LAYER_COUNTS, errors) == pytest.approx(-1.0, abs=0.15)
