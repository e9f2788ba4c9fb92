"""deqnet.analysis.{depth,identity,topology} against the mathematics of paper notes §5–§7.

- ResNet and feed-forward nets converge to their ODE at first order (log-log slope −1 ± 0.15),
  both the states x_L and back-propagation's a_0, and reading a net as an ODE is exact;
- a linear ODE's paths and its Euler layers have closed forms (matrix exponential and powers);
- ‖W_l − I‖ = Δt ‖w_l‖ for a discretised (P1); a ResNet's layer Jacobian matches finite differences;
- h(y) = y − γΔt y³ turns at 1/√(3γΔt) (γΔt = 1: h(1) = 0, h(1.5) = −1.875);
- folds: a hand-built non-monotone layer turns part of the plane over and makes paths cross; the
  identity, a mirror and ODE flows never fold (a mirror's det < 0 is still impossible for a flow).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.linalg import expm

from deqnet import ModelConfig, build_model, discretize, evaluate, make_dataset
from deqnet.analysis import jacobian_logdet
from deqnet.analysis.depth import (
    accuracy,
    accuracy_versus_layers,
    convergence_layers,
    convergence_study,
    fit_power_law,
    layer_paths,
    network_of,
    valid_layers,
)
from deqnet.analysis.identity import (
    activation,
    activation_curve,
    layer_weights,
    monotonicity_limit,
)
from deqnet.analysis.topology import (
    detect_crossings,
    disk_and_ring_grid,
    linear_boundary,
    snapshot_depths,
    topology_snapshots,
    turned_over,
)
from deqnet.models import FeedForward

SLOPE_TOLERANCE = 0.15


def _ode(family: str, time_mode: str = "autonomous", **overrides):
    values = {"family": family, "time_mode": time_mode, "segments": 4, "gamma": 0.5, "T": 1.0}
    return build_model(ModelConfig(**{**values, **overrides}), n_classes=2, seed=3).double()


def _inputs(n: int = 24, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 2)), rng.integers(0, 2, n)


def _fold_layer(gamma: float) -> FeedForward:
    """One plain layer x -> h(x) = x − γ x³ (W = I, B = 0, Δt = 1), float64."""
    config = ModelConfig(family="feedforward", layers=1, T=1.0, gamma=gamma)
    net = build_model(config, n_classes=2, seed=0).double()
    with torch.no_grad():
        net.linear.w.copy_(torch.eye(2, dtype=torch.float64)[None])
        net.linear.b.zero_()
    return net


# ------------------------------------------------------------------------------ convergence


@pytest.mark.parametrize(
    ("family", "time_mode"), [("node", "autonomous"), ("ruseckas", "piecewise")]
)
def test_networks_converge_to_their_ode_at_first_order(family: str, time_mode: str) -> None:
    ode = _ode(family, time_mode)
    x, y = _inputs()
    study = convergence_study(ode, x, y)
    assert study.layers.tolist() == [10, 20, 40, 80, 160]
    assert np.all(np.diff(study.state_error) < 0) and np.all(np.diff(study.adjoint_error) < 0)
    assert study.state_fit[0] == pytest.approx(-1.0, abs=SLOPE_TOLERANCE)
    assert study.adjoint_fit[0] == pytest.approx(-1.0, abs=SLOPE_TOLERANCE)


def test_reading_a_network_as_an_ode_is_the_reverse_direction() -> None:
    # A feed-forward net read as an ODE (continuize) is the (P1) it came from: the study of the
    # net equals the study of the ODE.
    ode = _ode("ruseckas")
    net = discretize(ode, 20)
    x, y = _inputs(n=12)
    from_ode = convergence_study(ode, x, y, layers=(10, 40))
    from_net = convergence_study(net, x, y, layers=(10, 40))
    np.testing.assert_allclose(from_net.state_error, from_ode.state_error, rtol=1e-6)
    np.testing.assert_allclose(from_net.adjoint_error, from_ode.adjoint_error, rtol=1e-6)


def test_fit_power_law_recovers_an_exact_power_law_and_skips_bad_points() -> None:
    n = np.array([10, 20, 40, 80])
    assert fit_power_law(n, 3.0 * n**-1.0) == pytest.approx((-1.0, 3.0))
    assert fit_power_law(n, [0.3, np.nan, 0.075, 0.0])[0] == pytest.approx(-1.0)
    assert all(math.isnan(v) for v in fit_power_law(n, [1.0, 0.0, np.inf, -1.0]))


def test_layer_counts_respect_the_weight_segments() -> None:
    assert convergence_layers(_ode("node")) == (10, 20, 40, 80, 160)
    assert convergence_layers(_ode("node", "piecewise", segments=20)) == (20, 40, 80, 160)
    assert convergence_layers(_ode("node", "piecewise", segments=50)) == (50, 100, 200)
    assert valid_layers(_ode("node", "piecewise", segments=4), (1, 3, 4, 10, 300)) == (4, 10)


# ------------------------------------------------------------------------------ paths and layers


def test_linear_ode_paths_and_euler_layers_match_their_closed_forms() -> None:
    # dx/dt = w x (gamma = 0, b = 0): x(t) = expm(w t) x0; the layers x_l = (I + dt w)^l x0.
    ode = _ode("ruseckas", gamma=0.0, T=0.8)
    with torch.no_grad():
        ode.linear.b.zero_()
    w = ode.linear.w[0].detach().numpy()
    x, _ = _inputs(n=5)
    paths = layer_paths(ode, x, layers=8, n_times=33)
    exact = np.stack([x @ expm(w * t).T for t in paths.t])
    np.testing.assert_allclose(paths.path, exact, rtol=1e-8, atol=1e-8)
    step = np.eye(2) + paths.dt * w
    euler = np.stack([x @ np.linalg.matrix_power(step, k).T for k in range(9)])
    np.testing.assert_allclose(paths.layers, euler, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(paths.layer_t, np.arange(9) * 0.1, atol=1e-15)
    assert np.all(np.isin(paths.layer_t, paths.t))
    at_layers = exact[np.searchsorted(paths.t, paths.layer_t)]
    np.testing.assert_allclose(paths.gap, np.linalg.norm(euler - at_layers, axis=-1), atol=1e-8)
    assert np.all(paths.gap[0] == 0)


def test_a_discrete_model_shows_its_own_layers_on_the_ode_read_from_it() -> None:
    config = ModelConfig(family="resnet", layers=6, time_mode="piecewise", segments=3)
    net = build_model(config, n_classes=2, seed=1)  # float32, as the app trains it
    x, _ = _inputs(n=7)
    paths = layer_paths(net, x, layers=6)
    with torch.no_grad():
        own = net.double().layer_states(net.lift(torch.as_tensor(x)))
    np.testing.assert_array_equal(paths.layers, own.numpy())
    assert network_of(net, 6).dtype == torch.float64 and network_of(net, 12).layers == 12


# ------------------------------------------------------------------------------ weights and h


def test_feedforward_weights_are_the_identity_plus_dt_times_the_ode_weights() -> None:
    ode = _ode("ruseckas", "piecewise")
    for layers in (8, 20):
        weights = layer_weights(discretize(ode, layers))
        dt = ode.config.T / layers
        k = [min(layer * 4 // layers, 3) for layer in range(layers)]
        w = ode.linear.w.detach().numpy()[k]
        assert weights.kind == "weights" and weights.dt == pytest.approx(dt)
        np.testing.assert_allclose(weights.deviation, dt * w, rtol=0, atol=1e-14)
        np.testing.assert_allclose(weights.norm, dt * np.linalg.norm(w, ord=2, axis=(1, 2)))


def test_resnet_layer_jacobians_match_finite_differences() -> None:
    net = discretize(_ode("node", "piecewise"), 8)
    x, _ = _inputs(n=6)
    weights = layer_weights(net, x)
    assert weights.kind == "jacobian"
    states = net.layer_states(net.lift(torch.as_tensor(x))).detach()
    eps = 1e-6
    for layer in (0, 5):
        s = states[layer]
        columns = []
        for j in range(2):
            e = torch.zeros(2, dtype=torch.float64)
            e[j] = eps
            columns.append((net.step(layer, s + e) - net.step(layer, s - e)).detach() / (2 * eps))
        jac = torch.stack(columns, dim=2).numpy() - np.eye(2)
        np.testing.assert_allclose(weights.deviation[layer], jac.mean(axis=0), atol=1e-8)
        norm = np.linalg.norm(jac, ord=2, axis=(1, 2)).mean()
        assert weights.norm[layer] == pytest.approx(norm, abs=1e-8)
    with pytest.raises(ValueError, match="need inputs"):
        layer_weights(net)


@pytest.mark.parametrize("gamma_dt", [0.01, 0.3, 1.0, 2.5])
def test_cubic_activation_turns_exactly_at_the_monotonicity_limit(gamma_dt: float) -> None:
    config = ModelConfig(family="feedforward", gamma=gamma_dt)
    limit = monotonicity_limit(gamma_dt, 1.0)
    assert limit == pytest.approx(1 / math.sqrt(3 * gamma_dt))
    h, dh = activation(config, 1.0, np.array([-limit, limit, 0.99 * limit, 1.01 * limit, 0.0]))
    assert abs(dh[0]) < 1e-12 and abs(dh[1]) < 1e-12
    assert dh[2] > 0 > dh[3] and dh[4] == 1.0
    np.testing.assert_allclose(h[:2], [-2 / 3 * limit, 2 / 3 * limit], rtol=1e-12)


def test_paper_numbers_for_gamma_dt_one_and_the_sine_limit() -> None:
    h, _ = activation(ModelConfig(family="feedforward", gamma=2.0), 0.5, np.array([1.0, 1.5]))
    np.testing.assert_allclose(h, [0.0, -1.875], atol=1e-15)
    sine = ModelConfig(family="feedforward", gamma=2.0, nonlinearity="sine")
    limit = monotonicity_limit(2.0, 1.0, "sine")
    assert limit == pytest.approx(math.acos(0.5))
    assert abs(activation(sine, 1.0, np.array([limit]))[1][0]) < 1e-12
    assert math.isinf(monotonicity_limit(0.0, 1.0)) and math.isinf(
        monotonicity_limit(1, 0.5, "sine")
    )


def test_activation_curve_of_a_coarse_net_covers_the_data_and_the_limit() -> None:
    net = discretize(_ode("ruseckas", gamma=2.0, T=2.0), 4)  # γΔt = 1
    x, _ = _inputs(n=30)
    curve = activation_curve(net, x)
    assert curve.gamma_dt == pytest.approx(1.0) and curve.limit == pytest.approx(1 / math.sqrt(3))
    assert curve.y[0] == -curve.y[-1] and curve.y[-1] >= 1.6 * curve.limit
    lo, hi = curve.preactivation
    assert curve.y[0] <= lo < hi <= curve.y[-1]
    np.testing.assert_allclose(curve.h, curve.y - curve.y**3, atol=1e-12)
    with pytest.raises(TypeError, match="feed-forward"):
        activation_curve(discretize(_ode("node"), 4))


# ------------------------------------------------------------------------------ folds


def test_a_non_monotone_layer_is_detected_as_a_fold_and_the_identity_is_not() -> None:
    fold = _fold_layer(gamma=1.0)  # h(y) = y − y³, det = (1 − 3 x1²)(1 − 3 x2²)
    x = np.array([[0.5, 0.0], [1.2, 0.0], [0.2, 0.3], [0.0, -0.9]])
    crossings = detect_crossings(fold, x)
    expected = (1 - 3 * x[:, 0] ** 2) * (1 - 3 * x[:, 1] ** 2)
    np.testing.assert_allclose(crossings.det[0], expected, rtol=1e-12)
    assert crossings.crossed.tolist() == [False, True, False, True]
    assert crossings.first_layer.tolist() == [-1, 0, -1, 0]
    # The two points on the x1 axis swap their order: their paths cross.
    image = fold.layer_states(fold.lift(torch.as_tensor(x[:2])))[-1].detach().numpy()
    assert x[0, 0] < x[1, 0] and image[0, 0] > image[1, 0]

    identity = detect_crossings(_fold_layer(gamma=0.0), x)
    assert not identity.crossed.any() and np.all(identity.first_layer == -1)


def _square(half: float, n: int) -> np.ndarray:
    s = np.linspace(-half, half, n)
    gx, gy = np.meshgrid(s, s)
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


def test_the_folded_part_is_exactly_where_one_coordinate_is_past_the_limit() -> None:
    # On [-0.8, 0.8]², det = (1 − 3 x1²)(1 − 3 x2²) < 0 on 40 % of the square: that part is
    # turned over onto the rest.
    x = _square(0.8, 41)
    folds = turned_over(_fold_layer(gamma=1.0), x)
    past = np.abs(x) > 1 / math.sqrt(3)
    np.testing.assert_allclose(folds.t, [0.0, 1.0])
    np.testing.assert_allclose(folds.det[0], 1.0)
    np.testing.assert_allclose(folds.det[1], np.prod(1 - 3 * x**2, axis=1), rtol=1e-12, atol=1e-15)
    assert not folds.turned[0].any()
    np.testing.assert_array_equal(folds.turned[1], past[:, 0] ^ past[:, 1])
    assert not turned_over(_fold_layer(gamma=0.0), x).turned.any()


def test_folds_compose_layer_by_layer() -> None:
    # The composite det is the product of the layer dets (chain rule), checked against the
    # Jacobian of the composed layers themselves.
    net = discretize(_ode("ruseckas", "piecewise", gamma=3.0, T=2.0), 4)
    x = _square(1.5, 5)
    folds = turned_over(net, x)
    layer_det = detect_crossings(net, x).det
    np.testing.assert_allclose(folds.det[1:], np.cumprod(layer_det, axis=0), rtol=1e-12)
    with torch.no_grad():
        states = net.layer_states(net.lift(torch.as_tensor(x)))
    for layer in (2, 4):
        jac = torch.func.vmap(torch.func.jacrev(lambda s, n=layer: _flow_to(net, s, n)))(states[0])
        np.testing.assert_allclose(
            folds.det[layer], torch.linalg.det(jac).detach().numpy(), rtol=1e-9
        )


def _flow_to(net, state: torch.Tensor, layers: int) -> torch.Tensor:
    out = state[None]
    for layer in range(layers):
        out = net.step(layer, out)
    return out[0]


def test_a_mirror_is_impossible_for_a_flow_but_folds_nothing_over() -> None:
    mirror = _fold_layer(gamma=0.0)
    with torch.no_grad():
        mirror.linear.w.copy_(torch.diag(torch.tensor([1.0, -1.0], dtype=torch.float64))[None])
    x = _square(1.0, 5)
    assert detect_crossings(mirror, x).crossed.all()  # det = −1 ≤ 0: no ODE flow does this
    folds = turned_over(mirror, x)
    np.testing.assert_allclose(folds.det[-1], -1.0)
    assert not folds.turned.any()


def test_an_ode_flow_keeps_orientation_everywhere() -> None:
    model = _ode("node", T=2.0)
    x = _square(2.0, 9)
    folds = turned_over(model, x, times=np.array([0.0, 1.0, 2.0]))
    assert np.all(folds.det > 0) and not folds.turned.any()
    np.testing.assert_allclose(folds.det[0], 1.0)
    np.testing.assert_allclose(np.log(folds.det[-1]), jacobian_logdet(model, x), rtol=1e-10)
    with pytest.raises(ValueError, match="extra dimensions"):
        turned_over(_ode("node", augment=1), x)


# ------------------------------------------------------------------------------ topology tools


def test_disk_and_ring_grid_labels_the_whole_region() -> None:
    points, labels = disk_and_ring_grid(61)
    r = np.hypot(points[:, 0], points[:, 1])
    assert np.all((r <= 0.5) == (labels == 0)) and np.all((r >= 1.0) & (r <= 1.5) == (labels == 1))
    assert labels.sum() > (labels == 0).sum() > 0


def test_snapshots_of_a_network_are_its_own_layers_at_evenly_spread_depths() -> None:
    net = build_model(ModelConfig(family="resnet", layers=20, T=2.0), n_classes=2, seed=1)
    snap = topology_snapshots(net, 5, region_points=21, grid_lines=5)
    np.testing.assert_array_equal(snap.layers, [0, 5, 10, 15, 20])
    np.testing.assert_allclose(snap.t, snap.layers * 0.1)
    x, labels = disk_and_ring_grid(21)
    with torch.no_grad():
        states = net.layer_states(net.lift(torch.as_tensor(x))).numpy()
    np.testing.assert_allclose(snap.states, states[snap.layers], atol=1e-6)
    np.testing.assert_array_equal(snap.labels, labels)
    np.testing.assert_allclose(snap.grid.t, snap.t)
    assert snap.grid.lines.shape[:2] == (5, 10)
    folds = turned_over(net, x)
    np.testing.assert_array_equal(snap.turned, folds.turned[snap.layers])
    assert snap.turned_fraction == pytest.approx(folds.turned[-1].mean())
    assert snap.stretch == pytest.approx(np.nanmax(np.abs(folds.det[-1])))
    assert snap.crossed == pytest.approx(detect_crossings(net, x).crossed.mean())


def test_snapshots_of_an_ode_are_uniform_in_time_and_never_turned_over() -> None:
    model = _ode("node", T=2.0)
    times, layers = snapshot_depths(model, 4)
    np.testing.assert_allclose(times, [0.0, 2 / 3, 4 / 3, 2.0])
    assert layers is None
    snap = topology_snapshots(model, 4, region_points=15, grid_lines=5)
    x, _ = disk_and_ring_grid(15)
    np.testing.assert_allclose(snap.states[0], x, atol=1e-6)
    assert snap.states.shape == (4, len(x), 2) and snap.layers is None
    assert not snap.turned.any() and snap.turned_fraction == 0.0 and snap.crossed is None
    assert snap.stretch == pytest.approx(np.exp(jacobian_logdet(model, x)).max(), rel=1e-6)


def test_a_coarse_network_shows_fewer_snapshots_than_asked_when_it_has_few_layers() -> None:
    net = _fold_layer(gamma=1.0)
    times, layers = snapshot_depths(net, 5)
    np.testing.assert_array_equal(layers, [0, 1])
    np.testing.assert_allclose(times, [0.0, 1.0])


def test_linear_boundary_separates_the_readout_classes() -> None:
    model = _ode("node")
    u, c = linear_boundary(model)
    states = torch.as_tensor(np.random.default_rng(1).normal(size=(50, 2)))
    predicted = model.readout(states).argmax(dim=1).numpy()
    np.testing.assert_array_equal(predicted == 1, states.numpy() @ u + c > 0)


def test_accuracy_matches_evaluate_and_the_depth_curve_ends_at_the_ode() -> None:
    data = make_dataset("moons", n=120, noise=0.1, seed=0)
    ode = _ode("node")
    scores = evaluate(ode, data)
    assert accuracy(ode, data.x_train, data.y_train) == pytest.approx(scores["train_acc"])
    curve = accuracy_versus_layers(ode, data, layers=(2, 160))
    assert curve.ode_train == pytest.approx(scores["train_acc"])
    assert curve.ode_test == pytest.approx(scores["test_acc"])
    net = discretize(ode, 2)
    assert curve.train[0] == pytest.approx(accuracy(net, data.x_train, data.y_train))
    assert abs(curve.train[1] - curve.ode_train) <= 2 / len(data.x_train)
