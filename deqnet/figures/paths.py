"""Hidden-state paths x(t): in the plane, in (x1, x2, t), as coordinates against t, and the final
features in 3-D.

Every path of one class goes into a single trace, separated by NaN rows (one trace with NaN gaps
draws far faster than one trace per path).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from deqnet.figures.fields import quiver_trace
from deqnet.figures.style import (
    Extent,
    base_layout,
    class_color,
    f32,
    keyed_markers,
    plane_axes,
    scene_axes,
    view_extent,
)

if TYPE_CHECKING:
    from deqnet.analysis.grids import VectorField
    from deqnet.analysis.paths import Trajectory

PREVIEW_PATHS = 64
# Around the tight box of the starting points, trained flows often reach 4-5 times as far; the
# quantiles in view_extent already drop stray paths, this only stops a runaway.
START_BOX_CAP = 8.0
T_TITLE = "t (depth)"
PLANE_COLOR = "#6E6E6E"  # the classifier's plane in 3-D
FIELD_COLOR = "#4D4D4D"  # the field's arrows: dark grey, above the class colours


def subsample(n: int, limit: int) -> np.ndarray:
    """At most ``limit`` indices of 0..n-1, evenly spread (deterministic, keeps class mix)."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(np.int64))


def nan_join(paths: np.ndarray) -> np.ndarray:
    """Paths (P, K, d) as one polyline (P * (K + 1) - 1, d) with a NaN row between paths."""
    paths = np.asarray(paths, dtype=np.float32)
    n_paths, _, dim = paths.shape
    if n_paths == 0:
        return np.empty((0, dim), dtype=np.float32)
    gap = np.full((n_paths, 1, dim), np.nan, dtype=np.float32)
    return f32(np.concatenate([paths, gap], axis=1).reshape(-1, dim)[:-1])


def class_groups(labels: np.ndarray, keep: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(k, indices into the paths) for every class 0..max label, among the kept indices."""
    labels = np.asarray(labels).astype(np.int64)
    n_classes = int(labels.max()) + 1 if labels.size else 0
    return [(k, keep[labels[keep] == k]) for k in range(n_classes)]


def class_path_traces(
    paths: np.ndarray,
    labels: np.ndarray,
    keep: np.ndarray | None = None,
    *,
    width: float,
    opacity: float | None = None,
    name: str = "class {k}",
    group: str | None = "class {k}",
    kind: Callable[..., go.BaseTraceType] = go.Scatter,
    **style: Any,
) -> list[go.BaseTraceType]:
    """One line trace per class 0 … max label of the paths (K, N, d) among ``keep`` (default
    all N), each class's paths NaN-joined into one polyline in its colour: d = 2 gives x and y,
    d = 3 also z (for ``kind=go.Scatter3d``).

    SVG by default: a polyline is one SVG path however many points it has, while every WebGL
    chart opens a context, which takes a second or more in a browser without a GPU.

    ``name`` and ``group`` (the legend group, None for none) are formatted with the class k;
    hover is off unless ``style`` has a hovertemplate; ``style`` (showlegend, mode, marker, …)
    goes to every trace as is.
    """
    keep = np.arange(np.asarray(paths).shape[1]) if keep is None else keep
    traces = []
    for k, idx in class_groups(labels, keep):
        line = nan_join(np.asarray(paths)[:, idx].transpose(1, 0, 2))
        spec: dict[str, Any] = dict(zip("xyz", line.T, strict=False))
        spec.update(mode="lines", name=name.format(k=k))
        if group is not None:
            spec["legendgroup"] = group.format(k=k)
        spec["line"] = {"color": class_color(k), "width": width}
        if opacity is not None:
            spec["opacity"] = opacity
        if "hovertemplate" not in style:
            spec["hoverinfo"] = "skip"
        traces.append(kind(**{**spec, **style}))
    return traces


def _planar(traj: Trajectory) -> np.ndarray:
    """The first two state components (K, N, 2)."""
    return np.asarray(traj.x)[..., :2]


def _start_box(points: np.ndarray) -> Extent:
    """A box around the starting points (N, 2), at least 1 wide, with a 10 % margin."""
    pts = points[np.isfinite(points).all(axis=1)]
    if not len(pts):
        return (-1.5, 1.5, -1.5, 1.5)
    low, high = pts.min(axis=0), pts.max(axis=0)
    half = np.maximum((high - low) / 2, 0.5) * 1.1
    centre = (low + high) / 2
    return (centre[0] - half[0], centre[0] + half[0], centre[1] - half[1], centre[1] + half[1])


def _marker_colors(labels: np.ndarray) -> list[str]:
    return [class_color(k) for k in np.asarray(labels).astype(np.int64)]


def paths_figure(
    traj: Trajectory,
    labels: np.ndarray,
    *,
    field: VectorField | None = None,
    max_paths: int = 200,
    extent: Extent | None = None,
    equal: bool = True,
    big: bool = False,
) -> go.Figure:
    """Paths in the plane coloured by class, open circles at t = 0 and dots at t = T, under the
    vector field (dark grey arrows, the top layer) when ``field`` is given.

    Args:
        traj: ``.t`` (K,), ``.x`` (K, N, D); the first two components are drawn.
        labels: (N,) class of each path.
        max_paths: at most this many paths (evenly subsampled).
        extent: axis box (x0, x1, y0, y1), widened to show where the paths go (bounded, so one
            exploding path cannot shrink the rest); default the field's grid, else the starts.
            Pass ``paths_box`` as the field's grid to draw arrows wherever the paths go.
        equal: one unit equally long on both axes (False: the plane fills its plot area).

    Everything is SVG, so the arrows, drawn last, stay above the paths and markers.
    """
    x = _planar(traj)
    keep = subsample(x.shape[1], max_paths)
    if extent is None:
        if field is not None:
            xs, ys = np.asarray(field.xs), np.asarray(field.ys)
            extent = (float(xs[0]), float(xs[-1]), float(ys[0]), float(ys[-1]))
        else:
            extent = _start_box(x[0, keep])
    fig = go.Figure()
    fig.add_traces(
        class_path_traces(x, labels, keep, width=2 if big else 1.5, opacity=0.35, kind=go.Scatter)
    )
    colors = _marker_colors(np.asarray(labels)[keep])
    size = 8 if big else 6
    for name, when, marker in (
        ("start (t = 0)", 0, {"symbol": "circle-open", "size": size - 1, "line": {"width": 1.5}}),
        ("end (t = T)", -1, {"size": size, "line": {"color": "white", "width": 1}}),
    ):
        hover = f"{name}<br>(%{{x:.2f}}, %{{y:.2f}})<extra></extra>"
        keyed_markers(fig, x[when, keep], name, marker, colors, hover)
    if field is not None:
        fig.add_trace(quiver_trace(field, color=FIELD_COLOR, width=2 if big else 1.5))
    base_layout(fig, big=big)
    plane_axes(fig, view_extent(x[:, keep], extent), equal=equal)
    return fig


def paths_box(traj: Trajectory, extent: Extent, *, max_paths: int = 200) -> Extent:
    """The axis box of :func:`paths_figure` for these paths (first two components of ``.x``
    (K, N, D), at most ``max_paths``) and ``extent``, made square around its centre: compute
    the vector field on it, and its arrows (on square cells, so they can be long enough to
    see) cover every part of the plane the paths reach."""
    x = _planar(traj)
    x0, x1, y0, y1 = view_extent(x[:, subsample(x.shape[1], max_paths)], extent)
    half = max(x1 - x0, y1 - y0) / 2
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return (cx - half, cx + half, cy - half, cy + half)


def preview_arrays(
    traj: Trajectory, labels: np.ndarray, extent: Extent, *, max_paths: int = PREVIEW_PATHS
) -> tuple[list[tuple[np.ndarray, np.ndarray]], Extent]:
    """The (x, y) float32 arrays of each trace of ``paths_preview_figure`` in trace order (per
    class: its NaN-separated paths, then its end points) and the axes' view extent."""
    x = _planar(traj)
    keep = subsample(x.shape[1], min(max_paths, PREVIEW_PATHS))
    traces = []
    for _, idx in class_groups(labels, keep):
        line = nan_join(x[:, idx].transpose(1, 0, 2))
        traces.append((line[:, 0], line[:, 1]))
        traces.append((f32(x[-1, idx, 0]), f32(x[-1, idx, 1])))
    return traces, view_extent(x[:, keep], extent)


def paths_preview_figure(
    traj: Trajectory,
    labels: np.ndarray,
    extent: Extent,
    *,
    max_paths: int = PREVIEW_PATHS,
    palette: Callable[[int], str] = class_color,
) -> go.Figure:
    """A small, light sketch of at most 64 paths (SVG, no legend) for a side panel.

    Args as in :func:`paths_figure`; the axes show ``extent``, widened (bounded) to the paths.
    ``palette``: the colour of label k (regression: ``band_color`` of target bands).
    """
    traces, view = preview_arrays(traj, labels, extent, max_paths=max_paths)
    fig = go.Figure()
    for k in range(len(traces) // 2):
        line, end = traces[2 * k], traces[2 * k + 1]
        fig.add_trace(
            go.Scatter(
                x=line[0],
                y=line[1],
                mode="lines",
                name=f"class {k}",
                line={"color": palette(k), "width": 1.2},
                opacity=0.7,
                hoverinfo="skip",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=end[0],
                y=end[1],
                mode="markers",
                name=f"class {k} at T",
                marker={
                    "color": palette(k),
                    "size": 5,
                    "line": {"color": "white", "width": 0.5},
                },
                hoverinfo="skip",
            )
        )
    base_layout(fig, legend=False)
    # A sketch in a small panel: fill it rather than keep one unit equally long on both axes.
    plane_axes(fig, view, titles=("", ""), equal=False)
    fig.update_xaxes(nticks=5, showgrid=False)
    fig.update_yaxes(nticks=5, showgrid=False)
    return fig


def paths_3d_figure(
    traj: Trajectory, labels: np.ndarray, *, max_paths: int = 200, big: bool = False
) -> go.Figure:
    """Paths as curves in (x1, x2, t): depth runs up the vertical axis. One trace per class."""
    x = _planar(traj)
    t = np.asarray(traj.t, dtype=np.float64)
    keep = subsample(x.shape[1], max_paths)
    xt = np.concatenate([x, np.broadcast_to(t[:, None, None], (*x.shape[:2], 1))], axis=2)
    fig = go.Figure()
    fig.add_traces(
        class_path_traces(
            xt,
            labels,
            keep,
            width=3,
            group=None,
            kind=go.Scatter3d,
            hovertemplate="(%{x:.2f}, %{y:.2f}) at t = %{z:.2f}<extra></extra>",
        )
    )
    x0, x1, y0, y1 = view_extent(x[:, keep], _start_box(x[0, keep]), cap=START_BOX_CAP)
    scene = scene_axes(big, ("x₁", "x₂", T_TITLE))
    scene["xaxis"]["range"] = [x0, x1]
    scene["yaxis"]["range"] = [y0, y1]
    scene["zaxis"]["range"] = [float(t[0]), float(t[-1])]
    base_layout(fig, big=big)
    fig.update_layout(scene=scene, uirevision="paths-3d")
    return fig


def coordinates_figure(
    traj: Trajectory, labels: np.ndarray, *, max_paths: int = 200, big: bool = False
) -> go.Figure:
    """x1(t) above x2(t) against t, one NaN-separated trace per class and coordinate."""
    x = _planar(traj)
    t = np.asarray(traj.t, dtype=np.float64)
    keep = subsample(x.shape[1], max_paths)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    t_all = np.broadcast_to(t[:, None], x.shape[:2])
    per_row = [
        class_path_traces(
            np.stack([t_all, x[..., row - 1]], axis=2),
            labels,
            keep,
            width=1.5,
            opacity=0.6,
            showlegend=row == 1,
            hovertemplate=f"t = %{{x:.2f}}, x{'₁₂'[row - 1]} = %{{y:.2f}}<extra></extra>",
        )
        for row in (1, 2)
    ]
    for first, second in zip(*per_row, strict=True):  # class by class, as the legend lists them
        fig.add_trace(first, row=1, col=1)
        fig.add_trace(second, row=2, col=1)
    base_layout(fig, big=big)
    x0, x1, y0, y1 = view_extent(x[:, keep], _start_box(x[0, keep]), cap=START_BOX_CAP)
    fig.update_xaxes(range=[float(t[0]), float(t[-1])])
    fig.update_xaxes(title_text=T_TITLE, row=2, col=1)
    fig.update_yaxes(title_text="x₁(t)", range=[x0, x1], row=1, col=1)
    fig.update_yaxes(title_text="x₂(t)", range=[y0, y1], row=2, col=1)
    return fig


def features_3d_figure(
    x_final: np.ndarray,
    labels: np.ndarray,
    *,
    plane: tuple[np.ndarray, float] | None = None,
    big: bool = False,
) -> go.Figure:
    """Final features x(T) (N, 3) of an augmented model as a 3-D scatter coloured by class.

    With one extra dimension a 2-D flow's impossible separations (a ring around a disk) can
    become a plane cut; this is where to see it. Only the first three components are drawn.
    ``plane`` (u (D,), c), e.g. ``linear_boundary`` of the readout, draws the plane
    u·x + c = 0 of the first three components (exact for D = 3) across the points' box.
    """
    x = np.asarray(x_final)
    if x.ndim != 2 or x.shape[1] < 3:
        raise ValueError(f"x_final must have shape (N, 3) or wider, got {x.shape}")
    labels = np.asarray(labels).astype(np.int64)
    fig = go.Figure()
    for k, idx in class_groups(labels, np.arange(len(labels))):
        fig.add_trace(
            go.Scatter3d(
                x=f32(x[idx, 0]),
                y=f32(x[idx, 1]),
                z=f32(x[idx, 2]),
                mode="markers",
                name=f"class {k}",
                marker={"color": class_color(k), "size": 4 if big else 3},
                hovertemplate="(%{x:.2f}, %{y:.2f}, %{z:.2f})<extra></extra>",
            )
        )
    if plane is not None:
        corners = plane_corners(np.asarray(plane[0], dtype=np.float64)[:3], plane[1], x[:, :3])
        if corners is not None:
            fig.add_trace(
                go.Mesh3d(
                    x=f32(corners[:, 0]),
                    y=f32(corners[:, 1]),
                    z=f32(corners[:, 2]),
                    i=[0, 0],
                    j=[1, 2],
                    k=[2, 3],
                    color=PLANE_COLOR,
                    opacity=0.35,
                    name="the classifier's plane",
                    showlegend=True,
                    hoverinfo="skip",
                )
            )
    base_layout(fig, big=big)
    fig.update_layout(scene=scene_axes(big, ("x₁(T)", "x₂(T)", "x₃(T)")), uirevision="features-3d")
    return fig


def plane_corners(u: np.ndarray, c: float, points: np.ndarray) -> np.ndarray | None:
    """The 4 corners (4, 3), in order around it, of the plane u·x + c = 0 (u (3,)) across the
    box of the finite ``points`` (N, 3): the coordinate with the largest |u_i| is solved for
    at the box's corners in the other two. None if u is zero or there are no finite points."""
    pts = np.asarray(points, dtype=np.float64)
    pts = pts[np.isfinite(pts).all(axis=1)]
    if not len(pts) or not np.any(u):
        return None
    low, high = pts.min(axis=0), pts.max(axis=0)
    solve = int(np.argmax(np.abs(u)))
    a, b = (i for i in range(3) if i != solve)
    corners = np.zeros((4, 3))
    for n, (va, vb) in enumerate(
        ((low[a], low[b]), (high[a], low[b]), (high[a], high[b]), (low[a], high[b]))
    ):
        corners[n, a], corners[n, b] = va, vb
        corners[n, solve] = -(c + u[a] * va + u[b] * vb) / u[solve]
    return corners
