"""Tests of the model registry, configuration errors, shapes, seeding and initialisation."""

from __future__ import annotations

import pytest
import torch

from deqnet import FAMILIES, TIME_MODES, ConfigError, ModelConfig, build_model
from deqnet.families import FAMILY_TABLE
from deqnet.models import REGISTRY, ContinuousModel, DiscreteModel
from deqnet.models.ruseckas import BIAS_STD, WEIGHT_STD

CASES = [(family, mode) for family in FAMILIES for mode in TIME_MODES[family]]
N_CLASSES = 3


def _build(family: str, time_mode: str = "autonomous", seed: int = 0, **overrides):
    values = {"family": family, "time_mode": time_mode, "segments": 3, "layers": 6}
    return build_model(ModelConfig(**{**values, **overrides}), n_classes=N_CLASSES, seed=seed)


def _inputs(n: int = 7) -> torch.Tensor:
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(0))


# ------------------------------------------------------------------------------ registry & errors


def test_registry_has_one_class_per_family() -> None:
    assert tuple(REGISTRY) == FAMILIES
    for family, cls in REGISTRY.items():
        base = ContinuousModel if ModelConfig(family=family).continuous else DiscreteModel
        assert issubclass(cls, base)


@pytest.mark.parametrize("family", FAMILIES)
def test_family_facts_match_what_the_models_do(family: str) -> None:
    cls, facts = REGISTRY[family], FAMILY_TABLE[family]
    assert cls.family is facts and cls.continuous == facts.continuous
    assert facts.continuous == ModelConfig(family=family).continuous
    # uses_mlp: the width changes the parameter shapes.
    shapes = [
        [p.shape for p in build_model(ModelConfig(family=family, width=w), 2, 0).parameters()]
        for w in (1, 2)
    ]
    assert facts.uses_mlp == (shapes[0] != shapes[1])
    # uses_gamma: gamma changes the output.
    x = torch.linspace(-2.0, 2.0, 8).reshape(4, 2)
    with torch.no_grad():
        out = [build_model(ModelConfig(family=family, gamma=g), 2, 0)(x) for g in (0.0, 1.0)]
    assert facts.uses_gamma == (not torch.equal(out[0], out[1]))


@pytest.mark.parametrize(
    ("changes", "pattern"),
    [
        ({"family": "mlp"}, "family='mlp'.*node, ruseckas, resnet, feedforward"),
        (
            {"family": "ruseckas", "time_mode": "time"},
            "time_mode for ruseckas.*autonomous, piecewise",
        ),
        ({"family": "feedforward", "time_mode": "time"}, "feedforward.*autonomous, piecewise"),
        ({"family": "node", "time_mode": "linear"}, "autonomous, time, piecewise"),
        ({"activation": "gelu"}, "activation='gelu'.*tanh, relu, softplus, sigmoid"),
        ({"nonlinearity": "quartic"}, "cubic, sine"),
        ({"solver": "rk45"}, "solver='rk45'.*euler, midpoint, rk4, dopri5"),
        ({"T": 0.0}, "T=0.0 is out of range; allowed 0.05 to 10"),
        ({"T": float("nan")}, "out of range; allowed 0.05 to 10"),
        ({"augment": 4}, "augment=4 is out of range; allowed 0 to 3"),
        ({"width": 0}, "width=0 is out of range; allowed 1 to 64"),
        ({"layers": 201}, "layers=201 is out of range; allowed 1 to 200"),
        ({"rtol": 1e-12}, "rtol=1e-12 is out of range; allowed 1e-10 to 0.1"),
        ({"steps": 2.5}, "steps must be an integer"),
        ({"gamma": True}, "gamma must be a number"),
    ],
)
def test_bad_model_configs_name_what_is_allowed(changes: dict, pattern: str) -> None:
    with pytest.raises(ConfigError, match=pattern):
        ModelConfig(**changes)


def test_unknown_config_keys_and_class_counts_are_rejected() -> None:
    with pytest.raises(ConfigError, match=r"unknown ModelConfig keys \['depth'\]"):
        ModelConfig.from_dict({"depth": 3})
    with pytest.raises(ConfigError, match="n_classes=11 is out of range; allowed 1 to 10"):
        build_model(ModelConfig(), n_classes=11)  # 1: regression's one output
    with pytest.raises(ConfigError, match="n_classes=0 is out of range; allowed 1 to 10"):
        build_model(ModelConfig(), n_classes=0)
    with pytest.raises(ConfigError, match="segments=7 exceeds layers=6"):
        ModelConfig(family="resnet", time_mode="piecewise", segments=7, layers=6)


# ------------------------------------------------------------------------------ shapes


@pytest.mark.parametrize("augment", [0, 2])
@pytest.mark.parametrize(("family", "time_mode"), CASES)
def test_every_family_and_time_mode_builds_and_runs(family, time_mode, augment) -> None:
    model = _build(family, time_mode, augment=augment)
    d = 2 + augment
    x = _inputs()
    x0 = model.lift(x)
    assert x0.shape == (7, d) and torch.equal(x0[:, :2], x) and not x0[:, 2:].any()
    with torch.no_grad():
        logits = model(x)
        assert logits.shape == (7, N_CLASSES) and logits.dtype == torch.float32
        assert torch.isfinite(logits).all()
        assert model.flow(x0).shape == (7, d)
        if isinstance(model, ContinuousModel):
            assert model.field(0.3, x0).shape == (7, d)
            assert model.field(torch.tensor(0.3), x0).shape == (7, d)
        else:
            assert all(model.step(layer, x0).shape == (7, d) for layer in range(model.layers))
            assert model.layer_states(x0).shape == (model.layers + 1, 7, d)
        double = model.double()
        assert double.dtype == torch.float64 and double.lift(x).dtype == torch.float64
        assert double(x).dtype == torch.float64
        torch.testing.assert_close(double(x), logits.double(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("family", FAMILIES)
def test_readout_acts_on_the_final_state_only(family: str) -> None:
    model = _build(family)
    x = _inputs()
    with torch.no_grad():
        torch.testing.assert_close(model(x), model.readout(model.flow(model.lift(x))))
    names = {name for name, _ in model.named_parameters() if not name.startswith("readout.")}
    assert {id(p) for p in model.flow_parameters()} == {
        id(p) for name, p in model.named_parameters() if name in names
    }


def test_segments_cover_time_and_layers_evenly() -> None:
    ode = _build("ruseckas", "piecewise", segments=4, T=2.0)
    assert [ode.segment_of(t) for t in (0.0, 0.49, 0.5, 1.2, 1.99, 2.0)] == [0, 0, 1, 2, 3, 3]
    net = _build("feedforward", "piecewise", segments=4, layers=10)
    used = [net.segment_of_layer(layer) for layer in range(10)]
    assert used == sorted(used) and set(used) == {0, 1, 2, 3}
    # Layer l at t_l = l dt uses the weight set of the segment that holds t_l.
    assert used == [min(int(layer / 10 * 4), 3) for layer in range(10)]


def test_nfe_counts_layer_and_field_evaluations() -> None:
    net = _build("resnet", layers=6)
    ode = _build("node", solver="rk4", steps=5)
    with torch.no_grad():
        net(_inputs())
        ode(_inputs())
    assert net.nfe == 6 and ode.nfe == 4 * 5


# ------------------------------------------------------------------------------ seeds


@pytest.mark.parametrize(("family", "time_mode"), CASES)
def test_same_seed_same_weights_different_seed_different(family: str, time_mode: str) -> None:
    a = _build(family, time_mode, seed=7).state_dict()
    b = _build(family, time_mode, seed=7).state_dict()
    c = _build(family, time_mode, seed=8).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert all(not torch.equal(a[k], c[k]) for k in a)


def test_weights_do_not_depend_on_the_global_torch_seed() -> None:
    torch.manual_seed(1)
    a = _build("node").state_dict()
    torch.manual_seed(2)
    b = _build("node").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


# ------------------------------------------------------------------------------ depth T


@pytest.mark.parametrize(("family", "time_mode"), CASES)
def test_a_state_dict_loads_into_a_model_of_another_depth(family: str, time_mode: str) -> None:
    shallow = _build(family, time_mode, T=1.0)
    deep = _build(family, time_mode, T=2.0, seed=1)
    deep.load_state_dict(shallow.state_dict())  # strict: same names and shapes
    assert all(
        torch.equal(p, q) for p, q in zip(deep.parameters(), shallow.parameters(), strict=True)
    )


def test_autonomous_flow_of_depth_2T_is_the_depth_T_flow_applied_twice() -> None:
    # Parameters do not depend on T, and an autonomous flow is a semigroup: phi_2T = phi_T o phi_T.
    tight = {"solver": "dopri5", "rtol": 1e-10, "atol": 1e-10, "max_steps": 20000, "augment": 1}
    shallow = _build("node", T=0.8, **tight).double()
    deep = _build("node", T=1.6, seed=1, **tight).double()
    deep.load_state_dict(shallow.state_dict())
    x0 = shallow.lift(_inputs().double())
    with torch.no_grad():
        torch.testing.assert_close(
            deep.flow(x0), shallow.flow(shallow.flow(x0)), rtol=1e-7, atol=1e-7
        )


# ------------------------------------------------------------------------------ initialisation


@pytest.mark.parametrize("layers", [5, 20, 80])
@pytest.mark.parametrize("time_mode", ["autonomous", "piecewise"])
def test_feedforward_starts_within_order_dt_of_the_identity(layers: int, time_mode: str) -> None:
    net = _build("feedforward", time_mode, layers=layers, segments=5, augment=1)
    dt, d = net.dt, 3
    w_minus_i = net.linear.w.detach() - torch.eye(d)
    # W - I = dt w0 and B = dt b0 with w0, b0 Gaussian of std WEIGHT_STD, BIAS_STD: for D = 3,
    # |w0|_F <= 3 * std * D holds with overwhelming probability (and for these fixed seeds).
    assert w_minus_i.flatten(1).norm(dim=1).max() <= 3 * WEIGHT_STD * d * dt
    assert net.linear.b.detach().norm(dim=1).max() <= 3 * BIAS_STD * d * dt
    # The O(dt) factor is exact: the same seed draws the same w0 whatever the depth.
    ref = _build("feedforward", time_mode, layers=5, segments=5, augment=1)
    w0_ref = (ref.linear.w.detach() - torch.eye(d)) / ref.dt
    torch.testing.assert_close(w_minus_i / dt, w0_ref, rtol=1e-4, atol=1e-5)
