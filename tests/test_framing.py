"""Every 2-D chart of points or paths is framed to its data: along the longer side, the drawn data
spans at least half of the axis range, in every subplot and at every animation frame; and the
arrows the captions promise are long enough to see. Read from the figure objects of small, briefly
trained models (a few seconds)."""

from __future__ import annotations

import numpy as np
import pytest

import deqnet
from deqnet.analysis import deformed_grid, plot_extent, vector_field_grid
from deqnet.analysis.depth import layer_paths
from deqnet.analysis.phase_space import rows_momentum, sample_momentum
from deqnet.analysis.topology import linear_boundary, topology_snapshots
from deqnet.figures import coordinates_figure, flow_animation_figure, paths_figure
from deqnet.figures.depth import layers_on_path_figure
from deqnet.figures.momentum import (
    adjoint_field_figure,
    momentum_paths_figure,
    phase_portraits_figure,
    pick_figure,
)
from deqnet.figures.paths import features_3d_figure, paths_box
from deqnet.figures.topology import plane_snapshots_figure, snapshot_titles
from deqnet.figures.trajectories import add_time_slice

MIN_FILL = 0.5
# Marks that are not the data: the flowing grid may reach far beyond the points.
NOT_DATA = {"grid", "image of a square grid", "the classifier's line"}


@pytest.fixture(scope="module")
def trained():
    """A neural ODE trained for 40 steps on 96 moons, its data and the data's plot extent."""
    data = deqnet.make_dataset("moons", n=96, noise=0.1, test_fraction=0.25, seed=0)
    run = deqnet.RunConfig(
        model=deqnet.ModelConfig(width=8, steps=6), train=deqnet.TrainConfig(train_steps=40)
    )
    model = deqnet.build_model(run.model, data.n_classes, seed=0)
    deqnet.Trainer(model, data, run.train).step(40)
    return model, data, plot_extent(data)


def _fill(traces, xrange, yrange) -> float:
    """The larger of (data span inside the view) / (axis range) over x and y, for the data points
    of ``traces`` (scatter points and paths; legend keys and non-data marks left out)."""
    xs, ys = [], []
    for tr in traces:
        if tr.type not in ("scatter", "scattergl") or tr.name in NOT_DATA or tr.x is None:
            continue
        x = np.asarray(tr.x, dtype=np.float64)
        y = np.asarray(tr.y, dtype=np.float64)
        keep = np.isfinite(x) & np.isfinite(y)
        xs.append(x[keep])
        ys.append(y[keep])
    x, y = np.concatenate(xs), np.concatenate(ys)
    assert x.size, "no data drawn"
    fills = []
    for values, (low, high) in ((x, xrange), (y, yrange)):
        inside = np.clip(values, low, high)
        fills.append((inside.max() - inside.min()) / (high - low))
    return max(fills)


def _subplot_traces(fig, xaxis: str) -> list:
    """The traces drawn on x axis ``xaxis`` ("x", "x2", ...)."""
    return [tr for tr in fig.data if (tr.xaxis or "x") == xaxis]


def _assert_framed(fig, subplots: int = 1) -> None:
    """Each of the first ``subplots`` subplots (axes x/y, x2/y2, ...) is framed to its data."""
    for n in range(1, subplots + 1):
        suffix = "" if n == 1 else str(n)
        xr = fig.layout[f"xaxis{suffix}"].range
        yr = fig.layout[f"yaxis{suffix}"].range
        assert xr is not None and yr is not None, "a plane with fixed axes"
        fill = _fill(_subplot_traces(fig, f"x{suffix}"), xr, yr)
        assert fill >= MIN_FILL, f"subplot {n}: data spans {fill:.0%} of the axes"


def _arrow_lengths(fig, meta=None) -> np.ndarray:
    """Drawn lengths in data units of every arrow of the quiver traces (those with ``meta``)."""
    out = []
    for tr in fig.data:
        if tr.type == "quiver" and tr.meta == meta:
            u, v = np.asarray(tr.u, dtype=np.float64), np.asarray(tr.v, dtype=np.float64)
            out.append(tr.lengthfactor * np.hypot(u, v))
    return np.concatenate(out) if out else np.empty(0)


def _longer_range(fig) -> float:
    (x0, x1), (y0, y1) = fig.layout.xaxis.range, fig.layout.yaxis.range
    return max(x1 - x0, y1 - y0)


# ---------------------------------------------------------------------------------- Trajectories


def test_animation_is_framed_at_every_frame(trained):
    model, data, extent = trained
    traj = deqnet.trajectory(model, data.x_train[:60])
    grid = deformed_grid(model, extent, n_lines=5, n_points=9, times=np.asarray(traj.t))
    fig = flow_animation_figure(traj, data.y_train[:60], grid, extent)
    _assert_framed(fig)
    for frame in fig.frames:
        fill = _fill(frame.data[1:], frame.layout.xaxis.range, frame.layout.yaxis.range)
        assert fill >= MIN_FILL, f"frame {frame.name}: data spans {fill:.0%} of the axes"
    # The first frame frames the input data itself, not where it flows to.
    assert fig.frames[0].layout.xaxis.range == fig.layout.xaxis.range


def test_paths_over_the_field_are_framed_and_the_arrows_cover_and_show(trained):
    model, data, extent = trained
    x, y = data.x_train[:60], data.y_train[:60]
    traj = deqnet.trajectory(model, x)
    box = paths_box(traj, extent)
    field = vector_field_grid(model, 0.5, box, n=9)
    fig = paths_figure(traj, y, field=field, extent=extent, equal=False)
    add_time_slice(fig, np.asarray(traj.x)[len(traj.t) // 2], y, t=0.5)
    _assert_framed(fig)
    # The arrows are the top layer, cover the paths and the longest is visible.
    assert fig.data[-1].type == "quiver"
    arrows = fig.data[-1]
    paths = np.asarray(traj.x)[..., :2]
    ax, ay = np.asarray(arrows.x), np.asarray(arrows.y)
    assert ax.min() <= paths[..., 0].min() + 1e-6 and ax.max() >= paths[..., 0].max() - 1e-6
    assert ay.min() <= paths[..., 1].min() + 1e-6 and ay.max() >= paths[..., 1].max() - 1e-6
    assert _arrow_lengths(fig).max() >= 0.04 * _longer_range(fig)


def test_coordinates_against_depth_are_framed(trained):
    model, data, _ = trained
    traj = deqnet.trajectory(model, data.x_train[:60])
    _assert_framed(coordinates_figure(traj, data.y_train[:60]), subplots=2)


# -------------------------------------------------------------------------------------- Momentum


def test_momentum_paths_are_framed_and_every_arrow_and_key_shows(trained):
    model, data, _ = trained
    rows = [0, 1, 2, 3, 4, 5]
    mom = rows_momentum(model, data, rows)
    fig = momentum_paths_figure(mom, data.y_train[rows])
    _assert_framed(fig)
    side = _longer_range(fig)
    lengths = _arrow_lengths(fig)
    norms = np.hypot(mom.a[..., 0], mom.a[..., 1])
    assert np.ptp(np.log10(norms[norms > 0])) > 1  # the momenta differ by powers of ten ...
    assert lengths.min() >= 0.015 * side  # ... and still every arrow can be seen
    assert lengths.max() <= 0.2 * side
    keys = _arrow_lengths(fig, meta="arrow key")
    assert len(keys) == 2 and keys.min() >= 0.015 * side
    assert keys.max() == pytest.approx(lengths.max(), rel=1e-5)  # the key is the largest |a|
    # The start numbers are 1 … n and no two written labels sit at the same place.
    start = next(tr for tr in fig.data if tr.name == "start x(0)")
    assert list(start.customdata) == [str(i + 1) for i in range(len(rows))]


def test_adjoint_field_is_framed_at_every_time(trained):
    model, data, _ = trained
    mom, labels = sample_momentum(model, data, 60)
    for k in range(0, len(mom.t), max(1, len(mom.t) // 4)):
        fig = adjoint_field_figure(mom, labels, k, time_label="t")
        _assert_framed(fig)
        assert _arrow_lengths(fig).min() >= 0.03 * _longer_range(fig)


def test_phase_portraits_and_the_pick_chart_frame_their_data(trained):
    model, data, extent = trained
    mom = rows_momentum(model, data, [0, 1, 2, 3])
    fig = phase_portraits_figure(mom, data.y_train[[0, 1, 2, 3]])
    # Autoranged axes fit the data by construction; no fixed range may undo that.
    assert all(fig.layout[f"{a}axis{s}"].range is None for a in "xy" for s in ("", "2"))
    _assert_framed(pick_figure(data.x_train, data.y_train, np.arange(6), extent=extent))


# -------------------------------------------------------------------------------- Layers ↔ Time


@pytest.mark.parametrize("layers", [2, 10])
def test_layers_overlay_is_framed(trained, layers):
    model, data, _ = trained
    paths = layer_paths(model, data.x_train[:20], layers, n_times=41)
    fig = layers_on_path_figure(paths, data.y_train[:20], numbered=[0, 1])
    _assert_framed(fig)


# -------------------------------------------------------------------------------------- Topology


def test_topology_strip_panels_are_framed_and_say_their_scale():
    data = deqnet.make_dataset("concentric", n=96, noise=0.0, seed=0)
    config = deqnet.ModelConfig(width=8, steps=4)
    model = deqnet.build_model(config, data.n_classes, seed=0)
    snap = topology_snapshots(model, 5, region_points=15, grid_lines=5)
    titles = snapshot_titles(snap.t, snap.layers)
    fig = plane_snapshots_figure(
        snap.states, snap.labels, titles, grid=snap.grid, turned=snap.turned
    )
    _assert_framed(fig, subplots=len(titles))
    widths = [fig.layout[f"xaxis{s}"].title.text for s in ["", *map(str, range(2, 6))]]
    assert all(w.startswith("↔ ") for w in widths)
    assert max(len(t) for t in titles) <= 8  # five titles fit side by side on a phone


def test_the_3d_plane_is_the_classifiers_boundary():
    data = deqnet.make_dataset("concentric", n=64, noise=0.0, seed=0)
    model = deqnet.build_model(deqnet.ModelConfig(augment=1, steps=4), data.n_classes, seed=0)
    final = np.asarray(deqnet.trajectory(model, data.x_train).x)[-1]
    u, c = linear_boundary(model)
    fig = features_3d_figure(final, data.y_train, plane=(u, c))
    (mesh,) = [tr for tr in fig.data if tr.type == "mesh3d"]
    corners = np.column_stack([mesh.x, mesh.y, mesh.z]).astype(np.float64)
    np.testing.assert_allclose(corners @ u[:3] + c, 0.0, atol=1e-3 * (1 + abs(c)))
