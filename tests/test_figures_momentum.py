"""Figures of the Momentum page: traces, axes, arrows and the energy numbers they annotate."""

from __future__ import annotations

import numpy as np
import plotly.io as pio
import pytest

from deqnet import Momentum
from deqnet.analysis.adjoint import EnergyVariation, energy_variation
from deqnet.analysis.checks import check_points
from deqnet.datasets import balanced_sample
from deqnet.figures.momentum import (
    FIELD_ARROW_FRACTION,
    PATH_ARROW_FRACTION,
    adjoint_field_figure,
    energy_figure,
    energy_summary,
    momentum_paths_figure,
    phase_portraits_figure,
    pick_figure,
)
from deqnet.figures.style import scientific

EXTENT = (-2.0, 2.0, -1.5, 1.5)


def _momentum(k: int = 11, n: int = 4, d: int = 2, seed: int = 0) -> Momentum:
    """Synthetic phase-space paths: x rotates, a has a known size per point."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, k)
    start = rng.uniform(-1, 1, size=(n, d))
    x = start[None] + 0.3 * np.sin(np.outer(t, np.ones(d)))[:, None, :]
    a = rng.normal(size=(k, n, d)) * np.arange(1, n + 1)[None, :, None]
    H = np.einsum("knd,knd->kn", a, x)
    return Momentum(t=t, x=x, a=a, H=H)


def _by_type(fig, kind: str) -> list:
    return [trace for trace in fig.data if trace.type == kind and trace.meta != "arrow key"]


def _keys(fig) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(drawn lengths, magnitudes, labels) of the figure's key arrows, lowest row first."""
    keys = [trace for trace in fig.data if trace.meta == "arrow key"]
    lengths = np.array([key.lengthfactor * key.u[0] for key in keys])
    magnitudes = np.array([key.customdata[0][0] for key in keys])
    labels = [a.text for a in fig.layout.annotations if a.text.startswith("|a| =")]
    return lengths, magnitudes, labels


def test_energy_variation_is_relative_peak_to_peak_of_each_path() -> None:
    h = np.array([[1.0, -2.0], [1.0, -2.2], [1.0, -1.8]])  # (K=3, N=2)
    var = energy_variation(h)
    assert var.overall == pytest.approx(0.4 / 2.0)
    assert var.within == pytest.approx(var.overall)
    assert var.jump == 0.0


def test_energy_variation_separates_steps_from_changes_inside_segments() -> None:
    # Two segments: constant 1 then constant 3 (tiny wobble inside the second).
    h = np.array([1.0, 1.0, 1.0, 3.0, 3.003, 3.0])[:, None]
    var = energy_variation(h, np.array([0, 0, 0, 1, 1, 1]))
    size = np.abs(h).mean()
    assert var.within == pytest.approx(0.003 / size)
    assert var.jump == pytest.approx((3.001 - 1.0) / size)
    assert var.overall == pytest.approx(2.003 / size)


def test_energy_variation_ignores_paths_without_energy() -> None:
    h = np.array([[0.0, 2.0], [0.0, 2.0]])
    assert energy_variation(h).overall == 0.0
    assert energy_variation(np.zeros((3, 2))) == EnergyVariation(0.0, 0.0, 0.0)


@pytest.mark.parametrize(
    ("mode", "discrete", "segments", "word"),
    [
        ("autonomous", False, 1, "H is flat"),
        ("piecewise", False, 4, "H stepwise"),
        ("time", False, 1, "H drifts"),
        ("autonomous", True, 1, "O(Δt)"),
        ("piecewise", True, 10, "jumps"),
    ],
)
def test_energy_summary_names_the_behaviour_and_follows_the_numbers(mode, discrete, segments, word):
    var = energy_variation(np.array([1.0, 1.0, 2.0, 2.0])[:, None], np.array([0, 0, 1, 1]))
    assert var.overall == pytest.approx(1 / 1.5) and var.jump == pytest.approx(1 / 1.5)
    assert var.within == 0.0
    text = energy_summary(var, time_mode=mode, discrete=discrete, n_segments=segments)
    assert word in text
    # The sentence reports the measurement: another variation gives another sentence.
    other = EnergyVariation(var.overall / 7, var.within, var.jump / 7)
    assert energy_summary(other, time_mode=mode, discrete=discrete, n_segments=segments) != text


def test_default_points_are_the_points_the_checks_measure(tiny_moons) -> None:
    rows = balanced_sample(tiny_moons.y_train, 6)
    x, y = check_points(tiny_moons, 6)
    np.testing.assert_array_equal(tiny_moons.x_train[rows], x)
    np.testing.assert_array_equal(tiny_moons.y_train[rows], y)
    assert np.bincount(tiny_moons.y_train[rows]).tolist() == [3, 3]


def test_pick_figure_names_every_training_row_and_rings_the_defaults(tiny_moons) -> None:
    x, y = tiny_moons.x_train, tiny_moons.y_train
    defaults = balanced_sample(y, 6)
    fig = pick_figure(x, y, defaults, extent=EXTENT)
    assert [t.type for t in fig.data] == ["scatter"] * 3
    rows = np.concatenate([np.asarray(t.customdata) for t in fig.data[:2]])
    assert sorted(rows.tolist()) == list(range(len(x)))
    for trace in fig.data[:2]:  # each marker sits where its row is
        np.testing.assert_allclose(
            np.column_stack([trace.x, trace.y]), x[np.asarray(trace.customdata)], atol=1e-6
        )
    assert list(fig.data[2].customdata) == defaults.tolist()
    assert fig.data[2].unselected.marker.opacity == 1  # rings stay while other points are picked
    assert fig.layout.dragmode is None and fig.layout.clickmode is None  # Streamlit decides
    assert fig.layout.xaxis.title.text == "x₁" and fig.layout.yaxis.title.text == "x₂"


def test_momentum_arrows_are_minus_a_at_the_path_states_longer_for_larger_a() -> None:
    mom = _momentum(k=5, n=3)
    labels = np.array([0, 1, 0])
    fig = momentum_paths_figure(mom, labels)
    quivers = _by_type(fig, "quiver")
    assert len(quivers) == 2  # one per class
    # With 5 times every time gets arrows; class 0 holds points 0 and 2.
    q0 = quivers[0]
    np.testing.assert_allclose(q0.x, mom.x[:, [0, 2], 0].ravel(), atol=1e-6)
    true = -mom.a[:, [0, 2], :2].reshape(-1, 2)
    np.testing.assert_allclose(np.asarray(q0.customdata), true, rtol=1e-5)  # hover: −a
    drawn = q0.lengthfactor * np.column_stack([q0.u, q0.v])
    cos = np.sum(drawn * true, axis=1) / np.hypot(*drawn.T) / np.hypot(*true.T)
    np.testing.assert_allclose(cos, 1.0, atol=1e-5)  # along −a
    x0, x1 = fig.layout.xaxis.range
    y0, y1 = fig.layout.yaxis.range
    side = max(x1 - x0, y1 - y0)
    assert fig.layout.yaxis.scaleanchor == "x"  # arrow lengths mean the same in every direction
    norms = np.hypot(mom.a[..., 0], mom.a[..., 1])
    lengths = np.concatenate([q.lengthfactor * np.hypot(q.u, q.v) for q in quivers])
    all_norms = np.concatenate([np.hypot(*np.asarray(q.customdata).T) for q in quivers])
    assert 0.5 * PATH_ARROW_FRACTION * side <= lengths.max() <= PATH_ARROW_FRACTION * side
    order = np.argsort(all_norms)
    assert np.all(np.diff(lengths[order]) >= -1e-6)  # a larger |a| is never a shorter arrow
    key_lengths, magnitudes, key_labels = _keys(fig)
    # The keys: the largest |a| at the longest arrow's length, and 100 times less, shorter.
    assert magnitudes.tolist() == pytest.approx([norms.max() / 100, norms.max()], rel=1e-5)
    assert key_lengths[1] == pytest.approx(lengths.max(), rel=1e-5)
    assert 0 < key_lengths[0] < key_lengths[1]
    assert key_labels == [f"|a| = {scientific(m)}" for m in magnitudes]
    keys = [trace for trace in fig.data if trace.meta == "arrow key"]
    assert min(key.y[0] for key in keys) > mom.x[..., 1].max()  # keys never cover a path
    assert [key.showlegend for key in keys] == [True, False]
    assert all(q.showlegend is False for q in quivers)
    lines = [t for t in fig.data if t.type == "scatter" and t.mode == "lines"]
    assert len(lines) == 3  # one path per point
    start = next(t for t in fig.data if t.name == "start x(0)")
    assert list(start.customdata) == ["1", "2", "3"]


def test_phase_portraits_plot_x_k_against_a_k_on_a_symlog_axis() -> None:
    mom = _momentum(k=7, n=2)
    mom.a[:, 1] *= 1e-4  # two points whose momenta differ by four powers of ten
    fig = phase_portraits_figure(mom, np.array([0, 0]), numbers=["5", "9"])
    titles = [
        (fig.layout.xaxis.title.text, fig.layout.yaxis.title.text),
        (fig.layout.xaxis2.title.text, fig.layout.yaxis2.title.text),
    ]
    assert titles == [("x₁(t)", "a₁(t)"), ("x₂(t)", "a₂(t)")]
    line = fig.data[0]  # class 0, component 1: both paths NaN-joined
    assert line.xaxis == "x"
    np.testing.assert_allclose(np.asarray(line.x)[:7], mom.x[:, 0, 0], atol=1e-6)
    assert np.isnan(line.x[7])
    # The a axis is monotone in a and keeps the small path off the zero line.
    small, big = np.asarray(line.y)[8:], np.asarray(line.y)[:7]
    assert np.all(np.sign(small) == np.sign(mom.a[:, 1, 0]))
    assert np.abs(small).max() > 0.1 * np.abs(big).max()
    ends = next(t for t in fig.data if t.name == "t = 0" and t.xaxis == "x")
    np.testing.assert_allclose(ends.customdata, mom.a[0, :, 0], rtol=1e-5)  # hover: a itself


def test_energy_figure_draws_each_point_and_states_the_summary() -> None:
    mom = _momentum(k=9, n=3)
    fig = energy_figure(mom.t, mom.H, np.array([0, 1, 1]), summary="Flat: test")
    assert [t.type for t in fig.data] == ["scatter"] * 3
    assert [t.showlegend for t in fig.data] == [True, True, False]
    assert fig.layout.annotations[0].text == "Flat: test"
    assert fig.layout.xaxis.title.text == "t (depth)"
    assert fig.layout.yaxis.title.text == "H = a·F"
    np.testing.assert_allclose(fig.data[2].y, mom.H[:, 2], rtol=1e-6)


def test_energy_figure_breaks_the_curve_at_weight_switches() -> None:
    t = np.linspace(0.0, 1.0, 9)
    segments = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1])  # the bound t = 0.5 opens segment 1
    h = np.where(segments == 0, 1.0, 2.0)[:, None]
    fig = energy_figure(t, h, np.array([0]), summary="s", segments=segments, bounds=[0, 0.5, 1])
    x = np.asarray(fig.data[0].x, dtype=np.float64)
    assert np.isnan(x[4]) and np.isfinite(np.delete(x, 4)).all()
    vlines = [s for s in fig.layout.shapes if s.x0 == s.x1 and s.xref == "x"]
    assert [s.x0 for s in vlines] == [0.5]


def test_discrete_energy_is_a_staircase_over_the_layers() -> None:
    mom = _momentum(k=6, n=2)
    fig = energy_figure(mom.t, mom.H, np.array([0, 1]), summary="s", discrete=True)
    assert {t.line.shape for t in fig.data} == {"hv"}
    assert {t.mode for t in fig.data} == {"lines+markers"}


def test_adjoint_field_draws_the_direction_of_minus_a_shaded_by_its_size() -> None:
    mom = _momentum(k=6, n=40, d=3)
    mom.a[2, 7] = 0.0  # a point without momentum gets no arrow
    labels = np.arange(40) % 2
    norms = np.hypot(mom.a[..., 0], mom.a[..., 1])
    logs = np.log10(norms[norms > 0])
    for k in (0, 2, 5):
        fig = adjoint_field_figure(mom, labels, k, time_label="t")
        points = _by_type(fig, "scatter")
        assert [p.name for p in points] == ["class 0 at t", "class 1 at t"]
        (quiver,) = _by_type(fig, "quiver")
        minus_a = -mom.a[k, :, :2]
        norm = np.hypot(minus_a[:, 0], minus_a[:, 1])
        drawn = np.flatnonzero(norm > 0)
        assert len(quiver.x) == len(drawn) == (39 if k == 2 else 40)
        order = np.argsort(np.asarray(quiver.customdata)[:, 0])
        assert np.all(order == np.arange(len(order)))  # the biggest gradients on top
        rows = drawn[np.argsort(norm[drawn])]
        np.testing.assert_allclose(quiver.x, mom.x[k, rows, 0], atol=1e-6)
        x0, x1 = fig.layout.xaxis.range
        y0, y1 = fig.layout.yaxis.range
        side = max(x1 - x0, y1 - y0)
        u = quiver.lengthfactor * np.column_stack([quiver.u, quiver.v])
        length = FIELD_ARROW_FRACTION * side  # every arrow equally long, along −a
        np.testing.assert_allclose(u, length * minus_a[rows] / norm[rows, None], atol=1e-4)
        np.testing.assert_allclose(quiver.marker.color, np.log10(norm[rows]), atol=1e-5)
        # One colour scale for every time: the largest |a| anywhere, four decades below it.
        assert quiver.marker.cmax == pytest.approx(logs.max())
        assert quiver.marker.cmin == pytest.approx(max(logs.min(), logs.max() - 4))
        assert fig.layout.xaxis.title.text == "x₁"


def test_page_figures_stay_small() -> None:
    mom = _momentum(k=41, n=12)
    labels = np.arange(12) % 2
    many = _momentum(k=41, n=1000)
    figs = [
        momentum_paths_figure(mom, labels, big=True),
        phase_portraits_figure(mom, labels, big=True),
        energy_figure(mom.t, mom.H, labels, summary="s", big=True),
        adjoint_field_figure(many, np.arange(1000) % 2, 3, time_label="t"),
    ]
    total = sum(len(pio.to_json(fig, validate=False)) for fig in figs)
    assert total < 500_000
