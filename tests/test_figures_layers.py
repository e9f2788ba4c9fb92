"""Figures of depth, identity and topology (deqnet.figures.{depth,identity,topology}), built
from synthetic arrays whose right picture is known."""

from __future__ import annotations

import math

import numpy as np
import plotly.io as pio
import pytest

from deqnet.analysis import (
    ActivationCurve,
    Convergence,
    DepthAccuracy,
    GridFlow,
    LayerPaths,
    LayerWeights,
)
from deqnet.figures.depth import (
    NUMBER_LABELS,
    convergence_figure,
    depth_accuracy_figure,
    layer_time_figure,
    layers_on_path_figure,
    log_ticks,
    paths_to_number,
    written_layers,
)
from deqnet.figures.identity import activation_figure, layer_weights_figure
from deqnet.figures.style import FOLD_COLOR
from deqnet.figures.topology import plane_snapshots_figure, snapshot_titles

N_LAYERS = 10


def _paths(n: int = 4, layers: int = N_LAYERS) -> LayerPaths:
    """Points moving right at speeds 1..n; layers lag behind the path by 0.01 per layer."""
    t = np.linspace(0.0, 1.0, 2 * layers + 1)
    layer_t = np.linspace(0.0, 1.0, layers + 1)
    speed = np.arange(1, n + 1, dtype=np.float64)
    start = np.stack([np.zeros(n), np.arange(n, dtype=np.float64)], axis=1)
    path = start[None] + np.stack([np.outer(t, speed), np.zeros((len(t), n))], axis=2)
    lag = 0.01 * np.arange(layers + 1)[:, None]
    layer_states = path[::2].copy()
    layer_states[..., 0] -= lag
    gap = np.broadcast_to(lag, (layers + 1, n)).copy()
    return LayerPaths(t=t, path=path, layer_t=layer_t, layers=layer_states, gap=gap)


def _array(value) -> np.ndarray:
    """A trace's array, whether Plotly kept a NumPy array or a list."""
    return np.asarray(value, dtype=np.float64)


def _traces(fig, **match) -> list:
    return [tr for tr in fig.data if all(getattr(tr, k) == v for k, v in match.items())]


# ------------------------------------------------------------------------------ layers on paths


def test_layer_dots_sit_on_their_paths_and_the_chosen_path_is_numbered() -> None:
    paths = _paths()
    labels = np.array([0, 1, 0, 1])
    fig = layers_on_path_figure(paths, labels, numbered=[3])
    dots = [tr for tr in fig.data if tr.name and tr.name.startswith("layers, class")]
    assert sum(len(tr.x) for tr in dots) == (N_LAYERS + 1) * 4
    class1 = next(tr for tr in dots if tr.name.endswith("1"))
    expected = paths.layers[:, [1, 3]].reshape(-1, 2)
    got = np.stack([_array(class1.x), _array(class1.y)], axis=1)
    np.testing.assert_allclose(np.sort(got, axis=0), np.sort(expected, axis=0), atol=1e-6)
    numbers = [a.text for a in fig.layout.annotations]
    assert numbers[0] == "0" and numbers[-1] == str(N_LAYERS)
    assert len(numbers) <= NUMBER_LABELS + 1
    end = _traces(fig, name="x(T), where the path ends")[0]
    np.testing.assert_allclose([end.x[0], end.y[0]], paths.path[-1, 3], atol=1e-6)
    assert fig.layout.yaxis.scaleanchor is None  # the plane fills its column
    x0, x1 = fig.layout.xaxis.range
    assert x0 <= paths.path[..., 0].min() and x1 >= paths.path[..., 0].max()
    assert pio.to_json(fig)  # serialisable


def test_numbers_are_spread_out_and_keep_both_ends() -> None:
    states = np.stack([np.linspace(0, 1, 41), np.zeros(41)], axis=1)  # 40 layers, spacing 0.025
    written = written_layers(states, min_gap=0.1)
    assert written[0] == 0 and written[-1] == 40
    gaps = np.diff(states[written, 0])
    assert np.all(gaps[:-1] >= 0.1 - 1e-12) and len(written) <= NUMBER_LABELS + 1
    # A path that stands still gets only its first number (and L, if L is far enough away).
    assert written_layers(np.zeros((11, 2)), min_gap=0.1) == [0]


def test_the_numbered_path_of_each_class_travels_furthest() -> None:
    paths = _paths(n=4)  # speeds 1, 2, 3, 4
    assert paths_to_number(paths, np.array([0, 1, 0, 1])) == [2, 3]


def test_layer_time_figure_puts_each_layer_at_its_time_and_shows_the_gap() -> None:
    paths = _paths()
    fig = layer_time_figure(paths, np.array([0, 1, 0, 1]))
    dots = [tr for tr in fig.data if tr.name and tr.name.startswith("layers, class")]
    for tr in dots:
        assert set(np.round(_array(tr.x), 6)) <= set(np.round(paths.layer_t, 6))
    mean = next(tr for tr in fig.data if tr.name and tr.name.endswith("mean over the points"))
    largest = next(tr for tr in fig.data if tr.name and "largest" in tr.name)
    np.testing.assert_allclose(_array(mean.y), paths.gap.mean(axis=1), rtol=1e-6)
    np.testing.assert_allclose(_array(largest.y), paths.gap.max(axis=1), rtol=1e-6)


# ------------------------------------------------------------------------------ convergence


def _convergence() -> Convergence:
    layers = np.array([10, 20, 40, 80, 160])
    return Convergence(
        layers=layers,
        state_error=0.5 / layers,
        adjoint_error=0.2 / layers**1.1,
        state_fit=(-1.0, 0.5),
        adjoint_fit=(-1.1, 0.2),
    )


def test_convergence_figure_shows_errors_fits_and_slopes_on_log_axes() -> None:
    conv = _convergence()
    fig = convergence_figure(conv, chosen=40)
    states = next(tr for tr in fig.data if tr.name and tr.name.startswith("states"))
    np.testing.assert_allclose(_array(states.y), conv.state_error, rtol=1e-6)
    assert "slope −1.00" in states.name
    adjoint = next(tr for tr in fig.data if tr.name and tr.name.startswith("adjoint"))
    assert "slope −1.10" in adjoint.name
    fit = next(tr for tr in fig.data if tr.name == "fit states ‖x<sub>L</sub> − x(T)‖")
    np.testing.assert_allclose(_array(fit.y), 0.5 / _array(fit.x), rtol=1e-5)
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    assert list(fig.layout.xaxis.tickvals) == [10, 20, 40, 80, 160]
    assert [shape.x0 for shape in fig.layout.shapes] == [40]
    assert not convergence_figure(conv, chosen=4).layout.shapes  # outside the study: no line


def test_a_failed_fit_draws_no_line_and_says_so() -> None:
    conv = Convergence(
        layers=np.array([10]),
        state_error=np.array([0.1]),
        adjoint_error=np.array([0.1]),
        state_fit=(math.nan, math.nan),
        adjoint_fit=(math.nan, math.nan),
    )
    fig = convergence_figure(conv)
    assert not [tr for tr in fig.data if tr.name and tr.name.startswith("fit")]
    assert all("slope n/a" in tr.name for tr in fig.data)


def test_log_ticks_are_one_two_five_and_cover_the_values() -> None:
    ticks = log_ticks(np.array([0.0031, 0.047]))
    assert ticks == pytest.approx([0.005, 0.01, 0.02, 0.05])
    assert log_ticks(np.array([np.nan, -1.0])) == []


def test_depth_accuracy_figure_in_percent_with_the_ode_lines() -> None:
    acc = DepthAccuracy(
        layers=np.array([1, 10, 100]),
        train=np.array([0.5, 0.9, 0.95]),
        test=np.array([0.4, 0.85, 0.9]),
        ode_train=0.96,
        ode_test=0.91,
    )
    fig = depth_accuracy_figure(acc, chosen=10)
    train = _traces(fig, name="network, train")[0]
    np.testing.assert_allclose(_array(train.y), [50, 90, 95], rtol=1e-6)
    ode = _traces(fig, name="ODE, test")[0]
    np.testing.assert_allclose(_array(ode.y), [91, 91], rtol=1e-6)
    assert fig.layout.yaxis.range[0] <= 40 and fig.layout.yaxis.range[1] >= 100


# ------------------------------------------------------------------------------ weights and h


@pytest.mark.parametrize("kind", ["weights", "jacobian"])
def test_weights_figure_bars_are_the_norms_and_the_heatmap_every_entry(kind: str) -> None:
    rng = np.random.default_rng(0)
    dev = rng.normal(size=(6, 2, 2)) * 0.1
    weights = LayerWeights(
        t=np.arange(6) * 0.2,
        deviation=dev,
        norm=np.linalg.norm(dev, ord=2, axis=(1, 2)),
        kind=kind,
        dt=0.2,
    )
    fig = layer_weights_figure(weights)
    bars = [tr for tr in fig.data if tr.type == "bar"][0]
    np.testing.assert_allclose(_array(bars.y), weights.norm, rtol=1e-6)
    heat = [tr for tr in fig.data if tr.type == "heatmap"][0]
    assert list(heat.y) == ["(1,1)", "(1,2)", "(2,1)", "(2,2)"]
    z = _array(heat.z)
    np.testing.assert_allclose(z[1], dev[:, 0, 1], rtol=1e-6)  # row (1,2): entry i=1, j=2
    assert heat.zmid == 0 and heat.zmin == -heat.zmax
    title = fig.layout.yaxis.title.text
    assert ("Jₗ" in title) == (kind == "jacobian")


def test_activation_figure_marks_the_limit_and_where_h_decreases() -> None:
    y = np.linspace(-2, 2, 401)
    limit = 1 / math.sqrt(3)
    curve = ActivationCurve(
        y=y,
        h=y - y**3,
        dh=1 - 3 * y**2,
        limit=limit,
        gamma_dt=1.0,
        nonlinearity="cubic",
        preactivation=np.array([-0.5, 0.7]),
    )
    fig = activation_figure(curve)
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert sorted(s.x0 for s in lines) == pytest.approx([-limit, limit])
    bands = [s for s in fig.layout.shapes if s.type == "rect"]
    red = [s for s in bands if "214,39,40" in s.fillcolor]
    assert len(red) == 2  # |y| beyond the limit on both sides
    assert max(s.x0 for s in red) == pytest.approx(limit, abs=0.011)  # one grid step
    grey = [s for s in bands if s not in red]
    assert [(s.x0, s.x1) for s in grey] == [(-0.5, 0.7)]
    h = _traces(fig, name="h(y)")[0]
    np.testing.assert_allclose(_array(h.y), y - y**3, atol=1e-5)
    assert "±0.577" in fig.layout.annotations[0].text


# ------------------------------------------------------------------------------ topology


def test_plane_snapshots_show_each_depth_the_folds_and_the_classifier() -> None:
    rng = np.random.default_rng(1)
    states = rng.normal(size=(3, 20, 2))
    labels = np.arange(20) % 2
    turned = np.zeros((3, 20), dtype=bool)
    turned[2, :5] = True
    lines = rng.normal(size=(3, 6, 9, 2))
    boundary = (np.array([1.0, -2.0]), 0.5)
    fig = plane_snapshots_figure(
        states,
        labels,
        ["input", "layer 1", "layer 2"],
        grid=GridFlow(t=np.arange(3.0), lines=lines),
        turned=turned,
        boundary=boundary,
    )
    assert [a.text for a in fig.layout.annotations] == ["input", "layer 1", "layer 2"]
    red = [tr for tr in fig.data if tr.name == "turned over onto the rest (a fold)"]
    assert len(red) == 1 and red[0].xaxis == "x3" and red[0].marker.color == FOLD_COLOR
    np.testing.assert_allclose(_array(red[0].x), states[2, :5, 0], atol=1e-6)
    line = _traces(fig, name="the classifier's line")[0]
    assert line.xaxis == "x3"
    xs, ys = _array(line.x), _array(line.y)
    np.testing.assert_allclose(xs - 2 * ys + 0.5, 0, atol=1e-5)
    for k in (1, 2, 3):
        points = [tr for tr in fig.data if tr.name and tr.name.startswith("class")]
        assert sum(len(tr.x) for tr in points if tr.xaxis == ("x" if k == 1 else f"x{k}")) == 20


def test_snapshot_titles_name_the_input_then_layers_or_times() -> None:
    assert snapshot_titles(np.array([0.0, 0.5, 1.0]), np.array([0, 2, 4])) == [
        "input",
        "layer 2",
        "layer 4",
    ]
    assert snapshot_titles(np.array([0.0, 0.25, 1.0])) == ["input", "t = 0.25", "t = 1"]
