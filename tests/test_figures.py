"""The shared figure builders: trace types and counts, NaN separation, colours, fixed axes,
animation frames and the JSON budgets that keep live charts fast.

Inputs are small stand-ins with the analysis dataclasses' field names (duck typing), except one
end-to-end test that feeds the real analysis outputs of a tiny model.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import plotly.graph_objects as go
import pytest

import deqnet
from deqnet.datasets import Dataset
from deqnet.figures import (
    CLASS_COLORS,
    PROJECTOR_FONT,
    base_layout,
    boundary_figure,
    class_colorscale,
    coordinates_figure,
    curves_figure,
    f32,
    features_3d_figure,
    flow_animation_figure,
    paths_3d_figure,
    paths_figure,
    paths_preview_figure,
    quiver_trace,
    volume_figure,
)
from deqnet.figures.animation import MAX_FRAMES, frame_indices
from deqnet.figures.boundary import boundary_traces
from deqnet.figures.curves import MAX_CURVE_POINTS
from deqnet.figures.fields import ARROW_CELLS
from deqnet.figures.paths import class_path_traces, nan_join, subsample
from deqnet.figures.style import (
    SPLIT_STYLE,
    hex_to_rgb,
    probability_image,
    tint,
    view_extent,
)
from deqnet.figures.trajectories import volume_cloud_figure
from deqnet.training import StepRecord

EXTENT = (-2.0, 2.0, -1.5, 1.5)


# ------------------------------------------------------------------------------------------
# Stand-ins
# ------------------------------------------------------------------------------------------


def _dataset(n_train: int, n_test: int, n_classes: int = 2, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    return Dataset(
        x_train=rng.uniform(-1.5, 1.5, (n_train, 2)),
        y_train=np.arange(n_train) % n_classes,
        x_test=rng.uniform(-1.5, 1.5, (n_test, 2)),
        y_test=np.arange(n_test) % n_classes,
        n_classes=n_classes,
        name="stand-in",
    )


def _grid(n: int = 100, n_classes: int = 2, extent=EXTENT) -> SimpleNamespace:
    """Softmax of linear scores: class 1 wins for x > 0 (two classes), class k in its sector."""
    xs, ys = np.linspace(extent[0], extent[1], n), np.linspace(extent[2], extent[3], n)
    gx, gy = np.meshgrid(xs, ys)
    if n_classes == 2:
        scores = np.stack([-3 * gx, 3 * gx], axis=-1)
    else:
        angles = 2 * np.pi * np.arange(n_classes) / n_classes
        scores = 4 * (gx[..., None] * np.cos(angles) + gy[..., None] * np.sin(angles))
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return SimpleNamespace(xs=xs, ys=ys, probs=e / e.sum(axis=-1, keepdims=True))


def _trajectory(k: int = 21, n: int = 30, d: int = 2, seed: int = 0) -> SimpleNamespace:
    """Points spiralling outwards: x(t) = e^{t/2} R(t) x0 (augmented components stay 0)."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, k)
    x0 = rng.uniform(-1, 1, (n, 2))
    c, s = np.cos(t), np.sin(t)
    rot = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)  # (K, 2, 2)
    x = np.exp(t / 2)[:, None, None] * np.einsum("kij,nj->kni", rot, x0)
    return SimpleNamespace(t=t, x=np.concatenate([x, np.zeros((k, n, d - 2))], axis=2))


def _labels(n: int, n_classes: int = 2) -> np.ndarray:
    return np.arange(n) % n_classes


def _field(n: int = 11, extent=EXTENT) -> SimpleNamespace:
    """Rotation field F = (-y, x)."""
    xs, ys = np.linspace(extent[0], extent[1], n), np.linspace(extent[2], extent[3], n)
    gx, gy = np.meshgrid(xs, ys)
    return SimpleNamespace(xs=xs, ys=ys, u=-gy, v=gx)


def _grid_flow(traj: SimpleNamespace, n_lines: int = 11, n_points: int = 41) -> SimpleNamespace:
    """Grid lines of EXTENT carried along by the same map as _trajectory."""
    x0, x1, y0, y1 = EXTENT
    across, steps = np.linspace(0, 1, n_points), np.linspace(0, 1, n_lines)
    shape = (n_lines, n_points)
    vertical = np.stack(
        np.broadcast_arrays(x0 + (x1 - x0) * steps[:, None], y0 + (y1 - y0) * across[None, :]), -1
    )
    horizontal = np.stack(
        np.broadcast_arrays(x0 + (x1 - x0) * across[None, :], y0 + (y1 - y0) * steps[:, None]), -1
    )
    start = np.concatenate([vertical, horizontal]).reshape(2 * shape[0], shape[1], 2)
    t = np.asarray(traj.t)
    c, s = np.cos(t), np.sin(t)
    rot = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)
    lines = np.exp(t / 2)[:, None, None, None] * np.einsum("kij,lpj->klpi", rot, start)
    return SimpleNamespace(t=t, lines=lines)


def _history(n: int) -> list[StepRecord]:
    return [
        StepRecord(
            step=i + 1,
            loss=float(np.exp(-i / 50)),
            train_acc=min(1.0, 0.5 + i / 200),
            test_acc=min(1.0, 0.45 + i / 220),
            nfe_forward=10,
            nfe_backward=0,
            seconds=0.01,
        )
        for i in range(n)
    ]


def _nan_rows(values) -> int:
    return int(np.isnan(np.asarray(values, dtype=np.float64)).sum())


def _json_size(fig: go.Figure) -> int:
    return len(fig.to_json())


# ------------------------------------------------------------------------------------------
# style
# ------------------------------------------------------------------------------------------


def test_class_colors_are_distinct_hex_colours():
    assert len(CLASS_COLORS) >= 6
    assert len(set(CLASS_COLORS)) == len(CLASS_COLORS)
    assert all(len(c) == 7 and c.startswith("#") for c in CLASS_COLORS)
    assert CLASS_COLORS[:4] == ("#0072B2", "#E69F00", "#009E73", "#D55E00")


def test_colorscale_runs_from_class_0_through_white_to_class_1():
    scale = class_colorscale()
    assert [stop for stop, _ in scale] == [0.0, 0.5, 1.0]
    assert scale[0][1] == tint(CLASS_COLORS[0]) and scale[2][1] == tint(CLASS_COLORS[1])
    assert scale[1][1] == "#ffffff"
    assert tint(CLASS_COLORS[2], 1.0).lower() == CLASS_COLORS[2].lower()
    assert tint(CLASS_COLORS[2], 0.0) == "#ffffff"


def test_probability_image_white_at_a_tie_and_class_tint_when_certain():
    probs = np.array([[[1 / 3, 1 / 3, 1 / 3], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]])
    image = probability_image(probs)
    assert image.shape == (1, 3, 3) and image.dtype == np.uint8
    np.testing.assert_array_equal(image[0, 0], [255, 255, 255])
    np.testing.assert_allclose(image[0, 1], hex_to_rgb(tint(CLASS_COLORS[2])), atol=1)
    np.testing.assert_allclose(image[0, 2], hex_to_rgb(tint(CLASS_COLORS[1])), atol=1)
    # Discretized: every pixel in its winner's full tint, however unsure.
    unsure = np.array([[[0.34, 0.33, 0.33]]])
    np.testing.assert_allclose(
        probability_image(unsure, discretize=True)[0, 0], hex_to_rgb(tint(CLASS_COLORS[0])), atol=1
    )


def test_f32_halves_the_payload_and_turns_infinities_into_gaps():
    out = f32([1.0, np.inf, -np.inf, np.nan, 2.5])
    assert out.dtype == np.float32
    assert np.isnan(out[1:4]).all() and out[0] == 1.0 and out[4] == 2.5


def test_base_layout_projector_fonts_and_horizontal_legend():
    fig = base_layout(go.Figure(go.Scatter(x=[0, 1], y=[0, 1])), title="t", big=True)
    axes = fig.layout.template.layout  # axis styles live in the template: every subplot gets them
    assert axes.xaxis.tickfont.size >= 18 and axes.yaxis.tickfont.size >= 18
    assert axes.xaxis.title.font.size >= 22 and axes.yaxis.title.font.size >= 22
    assert PROJECTOR_FONT["tick"] >= 18 and PROJECTOR_FONT["axis_title"] >= 22
    assert fig.layout.legend.orientation == "h" and fig.layout.legend.yanchor == "bottom"
    assert axes.plot_bgcolor == "white" and axes.paper_bgcolor == "white"
    assert list(axes.colorway) == list(CLASS_COLORS)
    assert fig.layout.title.text == "t"
    small = base_layout(go.Figure(), big=False).layout.template.layout
    assert small.xaxis.tickfont.size < axes.xaxis.tickfont.size


def test_view_extent_follows_the_paths_but_not_one_that_explodes():
    traj = _trajectory(n=200)
    box = view_extent(traj.x[..., :2], EXTENT)
    # Covers the extent and every path (none is an outlier here).
    assert box[0] <= EXTENT[0] and box[1] >= EXTENT[1]
    assert box[2] <= EXTENT[2] and box[3] >= EXTENT[3]
    x = traj.x[..., :2]
    assert box[0] <= x[..., 0].min() and box[1] >= x[..., 0].max()
    assert box[2] <= x[..., 1].min() and box[3] >= x[..., 1].max()
    exploded = x.copy()
    exploded[-1, 0] = [1e6, -1e6]
    exploded[-2, 1] = [np.nan, np.inf]
    assert view_extent(exploded, EXTENT) == pytest.approx(box, rel=0.05)
    # However many paths run away, the box stays within cap times the extent.
    runaway = x * 1e3
    far = view_extent(runaway, EXTENT, cap=4.0)
    assert far[1] <= 4 * 2.0 * 1.05 and far[3] <= 4 * 1.5 * 1.05
    assert view_extent(np.full((3, 5, 2), np.nan), EXTENT) == EXTENT


# ------------------------------------------------------------------------------------------
# boundary
# ------------------------------------------------------------------------------------------


def test_two_class_boundary_heatmap_contour_and_points():
    data, grid = _dataset(60, 20), _grid(30)
    fig = boundary_figure(grid, data, show_test=True, extent=EXTENT)
    assert [t.type for t in fig.data] == ["heatmap", "contour"] + ["scatter"] * 4
    heat, contour = fig.data[0], fig.data[1]
    assert heat.z.dtype == np.float32
    np.testing.assert_allclose(heat.z, grid.probs[..., 1], rtol=1e-6)
    assert [list(s) for s in heat.colorscale] == [list(s) for s in class_colorscale()]
    assert (heat.zmin, heat.zmax) == (0.0, 1.0)
    assert contour.contours.start == contour.contours.end == 0.5
    train, test = fig.data[2:4], fig.data[4:6]
    for k, trace in enumerate(train):
        assert trace.marker.color == CLASS_COLORS[k] and trace.marker.line.color == "white"
        np.testing.assert_allclose(trace.x, data.x_train[data.y_train == k, 0])
    for k, trace in enumerate(test):
        assert trace.marker.symbol == "circle-open" and trace.marker.color == CLASS_COLORS[k]
        assert len(trace.x) == (data.y_test == k).sum()
    assert list(fig.layout.xaxis.range) == [-2.0, 2.0]
    assert list(fig.layout.yaxis.range) == [-1.5, 1.5]
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis.scaleratio == 1
    assert fig.layout.xaxis.title.text == "x₁" and fig.layout.yaxis.title.text == "x₂"


def test_boundary_discretize_snaps_to_the_decision_and_hides_test_by_default():
    data, grid = _dataset(40, 10), _grid(25)
    fig = boundary_figure(grid, data, discretize=True)
    z = np.asarray(fig.data[0].z)
    np.testing.assert_array_equal(z, (grid.probs[..., 1] >= 0.5).astype(np.float32))
    assert len(fig.data) == 2 + 2  # no test traces
    # Default extent: the grid's corners.
    assert list(fig.layout.xaxis.range) == [grid.xs[0], grid.xs[-1]]


@pytest.mark.parametrize("n_classes", [2, 3])
def test_boundary_traces_are_the_shading_of_the_boundary_figure(n_classes: int):
    data, grid = _dataset(30, 9, n_classes=n_classes), _grid(20, n_classes=n_classes)
    fig = boundary_figure(grid, data)
    shading = boundary_traces(grid)
    assert len(shading) == (2 if n_classes == 2 else 1)
    for ours, theirs in zip(shading, fig.data, strict=False):
        assert ours.type == theirs.type
        np.testing.assert_array_equal(np.asarray(ours.z), np.asarray(theirs.z))
    if n_classes == 2:
        assert fig.data[1].line.width == 2
        assert boundary_traces(grid, line_width=1.5)[1].line.width == 1.5


def test_multiclass_boundary_is_an_rgb_image_aligned_with_the_grid():
    data, grid = _dataset(30, 9, n_classes=3), _grid(40, n_classes=3)
    fig = boundary_figure(grid, data, extent=EXTENT)
    assert [t.type for t in fig.data] == ["image"] + ["scatter"] * 3
    image = fig.data[0]
    assert image.x0 == grid.xs[0] and image.y0 == grid.ys[0]
    assert image.dx == pytest.approx(grid.xs[1] - grid.xs[0]) and image.dy > 0
    z = np.asarray(image.z)
    assert z.shape == (40, 40, 3) and z.dtype == np.uint8
    # Right edge, middle row: class 0 (angle 0) is nearly certain there.
    np.testing.assert_allclose(z[20, -1], hex_to_rgb(tint(CLASS_COLORS[0])), atol=3)
    assert [t.marker.color for t in fig.data[1:]] == list(CLASS_COLORS[:3])


def test_boundary_json_budget_and_webgl_for_many_points():
    data, grid = _dataset(1600, 400), _grid(100)
    fig = boundary_figure(grid, data, show_test=True, extent=EXTENT)
    assert _json_size(fig) <= 300_000
    assert {t.type for t in fig.data[2:]} == {"scattergl"}


# ------------------------------------------------------------------------------------------
# curves
# ------------------------------------------------------------------------------------------


def test_curves_loss_log_scale_and_accuracy_train_solid_test_dashed():
    history = _history(120)
    fig = curves_figure(history)
    loss, train, test = fig.data
    assert [t.type for t in fig.data] == ["scatter"] * 3
    assert (loss.yaxis, train.yaxis, test.yaxis) == ("y", "y2", "y2")
    np.testing.assert_allclose(loss.x, [r.step for r in history])
    np.testing.assert_allclose(test.y, [r.test_acc for r in history], rtol=1e-6)
    assert fig.layout.yaxis.type == "log"
    assert list(fig.layout.yaxis2.range) == [0, 1.03] and fig.layout.yaxis2.tickformat == ".0%"
    assert train.line.dash == "solid" and test.line.dash == "dash"
    assert loss.line.color == train.line.color == SPLIT_STYLE["train"]["color"]
    assert test.line.color == SPLIT_STYLE["test"]["color"]
    assert fig.layout.xaxis2.title.text == "step"
    assert fig.layout.yaxis.title.text == "loss" and fig.layout.yaxis2.title.text == "accuracy"
    assert fig.layout.xaxis.matches == "x2" or fig.layout.xaxis2.matches == "x"
    assert fig.layout.hovermode == "x unified"


def test_curves_of_an_empty_history_say_press_train_over_the_budget():
    fig = curves_figure([], budget=300)
    assert all(len(t.x) == 0 for t in fig.data)
    (note,) = [a for a in fig.layout.annotations if "Train" in a.text]
    assert (note.xref, note.yref) == ("x domain", "y domain")  # inside the loss panel
    assert list(fig.layout.xaxis2.range) == [0, 300] and fig.layout.yaxis2.range is not None


def test_the_loss_axis_labels_only_powers_of_ten():
    fig = curves_figure(_history(120))
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis.dtick == 1


def test_long_histories_are_subsampled_but_keep_the_latest_step():
    history = _history(5000)
    fig = curves_figure(history)
    steps = np.asarray(fig.data[0].x)
    assert len(steps) <= MAX_CURVE_POINTS
    assert steps[0] == 1 and steps[-1] == 5000


# ------------------------------------------------------------------------------------------
# paths
# ------------------------------------------------------------------------------------------


def test_nan_join_separates_paths_with_one_nan_row_each():
    paths = np.arange(24, dtype=np.float64).reshape(3, 4, 2)
    line = nan_join(paths)
    assert line.shape == (3 * 5 - 1, 2) and line.dtype == np.float32
    assert np.isnan(line[:, 0]).sum() == 2
    np.testing.assert_array_equal(line[5:9], paths[1])
    assert nan_join(np.empty((0, 4, 2))).shape == (0, 2)


def test_class_path_traces_join_each_class_in_its_colour_among_the_kept_paths():
    paths = np.arange(3 * 5 * 2, dtype=np.float64).reshape(3, 5, 2)  # (K=3, N=5, 2)
    labels = np.array([0, 1, 0, 2, 1])
    traces = class_path_traces(paths, labels, np.array([0, 1, 2, 3]), width=2, opacity=0.5)
    assert [t.name for t in traces] == ["class 0", "class 1", "class 2"]
    assert [t.line.color for t in traces] == list(CLASS_COLORS[:3])
    # Class 0 holds paths 0 and 2: x1 along path 0, a NaN row, x1 along path 2.
    np.testing.assert_array_equal(traces[0].x, [0, 10, 20, np.nan, 4, 14, 24])
    assert len(traces[1].x) == 3  # path 4 of class 1 is not kept
    assert {(t.legendgroup, t.hoverinfo, t.opacity, t.line.width) for t in traces[:1]} == {
        ("class 0", "skip", 0.5, 2)
    }
    custom = class_path_traces(
        np.concatenate([paths, paths[..., :1]], axis=2),
        labels,
        width=1,
        name="ODE, class {k}",
        group=None,
        kind=go.Scatter3d,
        hovertemplate="%{z}",
    )
    assert custom[2].type == "scatter3d" and custom[2].name == "ODE, class 2"
    assert custom[2].legendgroup is None and custom[2].hoverinfo is None
    np.testing.assert_array_equal(custom[2].z, paths[:, 3, 0])


def test_subsample_is_even_and_bounded():
    assert list(subsample(5, 10)) == [0, 1, 2, 3, 4]
    idx = subsample(1000, 64)
    assert len(idx) == 64 and idx[0] == 0 and idx[-1] == 999


def test_paths_figure_one_nan_separated_trace_per_class_under_the_field():
    traj, labels = _trajectory(n=30, d=3), _labels(30, 3)
    fig = paths_figure(traj, labels, field=_field(), max_paths=200, extent=EXTENT)
    assert fig.data[-1].type == "quiver"  # the arrows on top
    lines = [t for t in fig.data if t.type == "scatter" and t.mode == "lines"]
    assert len(lines) == 3
    for k, trace in enumerate(lines):
        assert trace.line.color == CLASS_COLORS[k]
        assert _nan_rows(trace.x) == (labels == k).sum() - 1
        assert len(trace.x) == (labels == k).sum() * (len(traj.t) + 1) - 1
    start, end = (
        t for t in fig.data if t.type == "scatter" and t.mode == "markers" and t.x[0] is not None
    )
    np.testing.assert_allclose(start.x, traj.x[0, :, 0], rtol=1e-6)
    np.testing.assert_allclose(end.y, traj.x[-1, :, 1], rtol=1e-6)
    assert list(end.marker.color) == [CLASS_COLORS[k] for k in labels]
    x0, x1, y0, y1 = fig.layout.xaxis.range + fig.layout.yaxis.range
    assert x0 <= EXTENT[0] and x1 >= EXTENT[1] and y0 <= EXTENT[2] and y1 >= EXTENT[3]
    assert x1 >= traj.x[..., 0].max() and y1 >= traj.x[..., 1].max()
    assert fig.layout.xaxis.title.text == "x₁" and fig.layout.yaxis.scaleanchor == "x"


def test_paths_figure_caps_the_number_of_paths():
    traj = _trajectory(k=5, n=500)
    fig = paths_figure(traj, _labels(500), max_paths=50)
    lines = [t for t in fig.data if t.type == "scatter" and t.mode == "lines"]
    assert sum(_nan_rows(t.x) + 1 for t in lines) == 50


def test_paths_preview_is_light_svg_and_at_most_64_paths():
    traj = _trajectory(k=41, n=300)
    fig = paths_preview_figure(traj, _labels(300), EXTENT)
    lines = [t for t in fig.data if t.mode == "lines"]
    assert {t.type for t in fig.data} == {"scatter"}
    assert sum(_nan_rows(t.x) + 1 for t in lines) <= 64
    assert [t.line.color for t in lines] == list(CLASS_COLORS[:2])
    assert fig.layout.showlegend is False
    assert _json_size(fig) <= 60_000


def test_paths_3d_puts_depth_on_the_vertical_axis():
    traj, labels = _trajectory(n=20), _labels(20)
    fig = paths_3d_figure(traj, labels)
    assert [t.type for t in fig.data] == ["scatter3d"] * 2
    for k, trace in enumerate(fig.data):
        assert trace.line.color == CLASS_COLORS[k]
        assert _nan_rows(trace.z) == (labels == k).sum() - 1
        z = np.asarray(trace.z, dtype=np.float64)
        np.testing.assert_allclose(z[: len(traj.t)], traj.t, rtol=1e-6)
    scene = fig.layout.scene
    assert scene.zaxis.title.text == "t (depth)"
    assert list(scene.zaxis.range) == [0.0, 1.0]
    assert scene.camera.eye.x is not None and scene.camera.up.z == 1


def test_coordinates_figure_x1_and_x2_against_t():
    traj, labels = _trajectory(n=12), _labels(12, 3)
    fig = coordinates_figure(traj, labels)
    assert len(fig.data) == 3 * 2
    for trace in fig.data:
        k = int(trace.name.split()[-1])
        assert trace.line.color == CLASS_COLORS[k]
        assert _nan_rows(trace.y) == (labels == k).sum() - 1
    first = fig.data[0]
    np.testing.assert_allclose(np.asarray(first.x[: len(traj.t)]), traj.t, rtol=1e-6)
    np.testing.assert_allclose(first.y[: len(traj.t)], traj.x[:, 0, 0], rtol=1e-6)
    assert fig.layout.xaxis2.title.text == "t (depth)"
    assert fig.layout.yaxis.title.text == "x₁(t)" and fig.layout.yaxis2.title.text == "x₂(t)"
    assert sum(bool(t.showlegend) for t in fig.data) == 3


def test_features_3d_one_marker_trace_per_class():
    rng = np.random.default_rng(1)
    x, labels = rng.normal(size=(40, 3)), _labels(40)
    fig = features_3d_figure(x, labels)
    assert [t.type for t in fig.data] == ["scatter3d"] * 2
    assert [t.marker.color for t in fig.data] == list(CLASS_COLORS[:2])
    np.testing.assert_allclose(fig.data[1].z, x[labels == 1, 2], rtol=1e-6)
    assert fig.layout.scene.zaxis.title.text == "x₃(T)"
    with pytest.raises(ValueError, match="shape"):
        features_3d_figure(x[:, :2], labels)


# ------------------------------------------------------------------------------------------
# fields
# ------------------------------------------------------------------------------------------


def test_quiver_longest_arrow_is_about_one_grid_cell():
    field = _field(n=11)
    trace = quiver_trace(field)
    assert trace.type == "quiver" and len(trace.x) == 11 * 11
    assert trace.lengthmode == "raw" and trace.arrowref == "data"
    cell = min(field.xs[1] - field.xs[0], field.ys[1] - field.ys[0])
    drawn = trace.lengthfactor * np.hypot(trace.u, trace.v)
    assert drawn.max() == pytest.approx(ARROW_CELLS * cell, rel=1e-5)
    # Hover shows the true values.
    np.testing.assert_allclose(np.asarray(trace.customdata)[:, 0], field.u.ravel(), rtol=1e-6)
    half = quiver_trace(field, scale=0.5)
    np.testing.assert_allclose(
        half.lengthfactor * np.asarray(half.u), 0.5 * field.u.ravel(), rtol=1e-5, atol=1e-7
    )


def test_quiver_of_a_zero_field_is_finite():
    field = _field()
    zero = SimpleNamespace(xs=field.xs, ys=field.ys, u=0 * field.u, v=0 * field.v)
    trace = quiver_trace(zero)
    assert np.all(np.isfinite(trace.u)) and trace.lengthfactor == 1.0


# ------------------------------------------------------------------------------------------
# animation
# ------------------------------------------------------------------------------------------


def test_frame_indices_at_most_41_with_both_ends():
    t = np.sort(np.concatenate([np.linspace(0, 1, 101), [0.333]]))
    idx = frame_indices(t)
    assert len(idx) <= MAX_FRAMES and idx[0] == 0 and idx[-1] == len(t) - 1
    assert np.all(np.diff(idx) > 0)
    assert list(frame_indices(np.linspace(0, 1, 7))) == list(range(7))


def test_flow_animation_frames_slider_and_buttons():
    traj, labels = _trajectory(k=101, n=40), _labels(40)
    flow = _grid_flow(traj, n_lines=5, n_points=9)
    fig = flow_animation_figure(traj, labels, flow, EXTENT)
    n_frames = len(fig.frames)
    assert n_frames == MAX_FRAMES
    assert [t.type for t in fig.data] == ["scatter"] * 3
    mesh = fig.data[0]
    assert mesh.mode == "lines" and _nan_rows(mesh.x) == 2 * 5 - 1
    assert [t.marker.color for t in fig.data[1:]] == list(CLASS_COLORS[:2])
    for frame in fig.frames:
        assert len(frame.data) == 3 and list(frame.traces) == [0, 1, 2]
        assert {t.type for t in frame.data} == {"scatter"}
    last = fig.frames[-1]
    np.testing.assert_allclose(last.data[2].x, traj.x[-1, labels == 1, 0], rtol=1e-6)
    slider = fig.layout.sliders[0]
    assert len(slider.steps) == n_frames
    assert slider.currentvalue.prefix == "t = "
    assert slider.steps[0].label == "0.00" and slider.steps[-1].label == "1.00"
    assert all(s.args[1]["frame"]["redraw"] is False for s in slider.steps)
    play, pause = fig.layout.updatemenus[0].buttons
    assert play.args[0] is None and play.args[1]["frame"]["redraw"] is False
    assert list(pause.args[0]) == [None]
    # Every frame's ranges hold that frame's points (tame paths); the figure starts on frame 0.
    for frame in fig.frames:
        x0, x1 = frame.layout.xaxis.range
        y0, y1 = frame.layout.yaxis.range
        shown = np.concatenate([np.column_stack([t.x, t.y]) for t in frame.data[1:]])
        assert x0 <= shown[:, 0].min() and x1 >= shown[:, 0].max()
        assert y0 <= shown[:, 1].min() and y1 >= shown[:, 1].max()
    assert fig.layout.xaxis.range == fig.frames[0].layout.xaxis.range


def test_flow_animation_json_budget_500_points_41_frames():
    traj, labels = _trajectory(k=41, n=500), _labels(500)
    fig = flow_animation_figure(traj, labels, _grid_flow(traj), EXTENT)
    assert len(fig.frames) == 41
    assert sum(len(t.x) for t in fig.data[1:]) == 500
    assert _json_size(fig) <= 2_000_000


def test_flow_animation_subsamples_points_and_ignores_an_exploding_path():
    traj, labels = _trajectory(k=11, n=3000), _labels(3000)
    calm = flow_animation_figure(traj, labels, _grid_flow(traj, 3, 5), EXTENT)
    assert sum(len(t.x) for t in calm.frames[-1].data[1:]) <= 1000
    wild = traj.x.copy()
    wild[-1, 0] = [1e5, 1e5]
    fig = flow_animation_figure(
        SimpleNamespace(t=traj.t, x=wild), labels, _grid_flow(traj, 3, 5), EXTENT
    )
    last, calm_last = fig.frames[-1].layout.xaxis.range, calm.frames[-1].layout.xaxis.range
    assert last == pytest.approx(calm_last, rel=0.05)


def test_flow_animation_uses_the_nearest_grid_time():
    traj, labels = _trajectory(k=21, n=10), _labels(10)
    coarse = _grid_flow(_trajectory(k=3, n=1), n_lines=3, n_points=4)  # t = 0, 0.5, 1
    fig = flow_animation_figure(traj, labels, coarse, EXTENT)
    mesh_t = [np.asarray(f.data[0].x, dtype=np.float64) for f in fig.frames]
    expected = [nan_join(coarse.lines[i])[:, 0] for i in (0, 1, 2)]
    np.testing.assert_allclose(mesh_t[4], expected[0], rtol=1e-6)  # t = 0.2
    np.testing.assert_allclose(mesh_t[10], expected[1], rtol=1e-6)  # t = 0.5
    np.testing.assert_allclose(mesh_t[20], expected[2], rtol=1e-6)  # t = 1


# ------------------------------------------------------------------------------------------
# volume
# ------------------------------------------------------------------------------------------


def test_volume_figure_two_panels_with_zero_lines():
    t = np.linspace(0, 1, 21)
    div = -np.ones_like(t)
    per_point = np.stack([-t, -3 * t], axis=1)  # (K, N): mean is -2 t
    fig = volume_figure(t, div, per_point)
    assert [tr.type for tr in fig.data] == ["scatter"] * 2
    np.testing.assert_allclose(fig.data[1].y, -2 * t, rtol=1e-6)
    zero_lines = [s for s in fig.layout.shapes if s.y0 == 0 and s.y1 == 0]
    assert len(zero_lines) == 2
    assert fig.layout.xaxis2.title.text == "t (depth)"
    assert fig.layout.yaxis.title.text == "mean div F"
    assert fig.layout.yaxis2.title.text == "log V(t)/V(0)"
    assert not any(tr.showlegend for tr in fig.data)


def test_volume_legend_names_the_log_volume_curve_and_the_cloud_joins_it():
    t = np.linspace(0, 1, 21)
    div, per_point = -np.ones_like(t), np.stack([-t, -3 * t], axis=1)
    fig = volume_figure(t, div, per_point, volume_legend="exact")
    assert [tr.name for tr in fig.data] == ["mean div F", "exact"]
    assert [tr.showlegend for tr in fig.data] == [False, True]
    cloud = -1.5 * t + 0.25
    fig = volume_cloud_figure(t, div, per_point, cloud)
    names = [tr.name for tr in fig.data if tr.showlegend is not False]
    assert names == ["mean log|det J| (exact)", "cloud (Gaussian estimate)"]
    np.testing.assert_allclose(fig.data[-1].y, cloud - cloud[0], atol=1e-6)
    assert fig.data[-1].xaxis == "x2"  # the bottom panel, with the exact change


# ------------------------------------------------------------------------------------------
# end to end with the real analysis dataclasses
# ------------------------------------------------------------------------------------------


def test_builders_accept_the_real_analysis_outputs(tiny_moons):
    model = deqnet.build_model(deqnet.ModelConfig(width=4, steps=4), 2, seed=0)
    extent = deqnet.analysis.plot_extent(tiny_moons)
    x, y = tiny_moons.x_train[:16], tiny_moons.y_train[:16]
    traj = deqnet.trajectory(model, x)
    grid = deqnet.analysis.decision_grid(model, extent, n=12)
    field = deqnet.analysis.vector_field_grid(model, 0.5, extent, n=5)
    flow = deqnet.analysis.deformed_grid(model, extent, n_lines=3, n_points=4)
    figures = [
        boundary_figure(grid, tiny_moons, show_test=True, extent=extent),
        paths_figure(traj, y, field=field, extent=extent),
        paths_preview_figure(traj, y, extent),
        paths_3d_figure(traj, y),
        coordinates_figure(traj, y),
        flow_animation_figure(traj, y, flow, extent),
        volume_figure(
            traj.t,
            deqnet.analysis.mean_divergence(model, traj),
            deqnet.analysis.cloud_log_volume(traj),
        ),
    ]
    assert all(isinstance(fig, go.Figure) and fig.to_json() for fig in figures)
