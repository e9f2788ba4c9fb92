"""The flow as a movie: points and a deformed grid moving from t = 0 to T, scrubbed in the browser.

Everything ships in one figure (Plotly frames + slider + Play/Pause), so scrubbing never asks the
server for anything. Frames only move SVG scatter traces, which Plotly can animate without a full
redraw; that is why the points are ``go.Scatter`` (subsampled to stay light), not WebGL. Each
frame also carries its own axis ranges, framed to where the points are at that time, so the view
zooms out as the flow spreads the points (the tick labels give the scale; the two axes need not
share one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go

from deqnet.figures.paths import class_groups, nan_join, subsample
from deqnet.figures.style import (
    GREY,
    INK,
    Extent,
    base_layout,
    class_color,
    f32,
    fonts,
    framed_box,
    plane_axes,
)

if TYPE_CHECKING:
    from deqnet.analysis.grids import GridFlow
    from deqnet.analysis.paths import Trajectory

MAX_FRAMES = 41
MAX_POINTS = 1000
FRAME_MS = 90
FRAME_CAP = 8.0  # a frame's axes reach at most this many times the data's half-widths


def frame_indices(t: np.ndarray, limit: int = MAX_FRAMES) -> np.ndarray:
    """Indices of at most ``limit`` times of the ascending array t, nearest to an even spread
    from t[0] to t[-1] (first and last always included)."""
    t = np.asarray(t, dtype=np.float64)
    if len(t) <= limit:
        return np.arange(len(t))
    targets = np.linspace(t[0], t[-1], limit)
    return np.unique(np.abs(t[None, :] - targets[:, None]).argmin(axis=1))


def frame_box(points: np.ndarray, extent: Extent) -> Extent:
    """The axis box (x0, x1, y0, y1) of one frame of points (N, 2): from their 0.5 % to their
    99.5 % quantile with a margin, at least a tenth of the data's ``extent`` across, and within
    FRAME_CAP times the extent's half-widths around its centre."""
    x0, x1, y0, y1 = (float(e) for e in extent)
    least = 0.1 * max(x1 - x0, y1 - y0)
    bx0, bx1, by0, by1 = framed_box(points, low=0.005, high=0.995, pad=0.08, least=least)
    cx, cy, hx, hy = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
    return (
        max(bx0, cx - FRAME_CAP * hx),
        min(bx1, cx + FRAME_CAP * hx),
        max(by0, cy - FRAME_CAP * hy),
        min(by1, cy + FRAME_CAP * hy),
    )


def _nearest(t: np.ndarray, times: np.ndarray) -> np.ndarray:
    """For each of ``times`` the index of the nearest entry of t."""
    t = np.asarray(t, dtype=np.float64)
    return np.abs(t[None, :] - np.asarray(times, dtype=np.float64)[:, None]).argmin(axis=1)


def flow_animation_figure(
    traj: Trajectory,
    labels: np.ndarray,
    grid: GridFlow,
    extent: Extent,
    *,
    max_points: int = MAX_POINTS,
    big: bool = False,
) -> go.Figure:
    """Animated flow of the points (coloured by class) and of a square grid of the plane.

    Args:
        traj: ``.t`` (K,), ``.x`` (K, N, D); the first two components are drawn.
        labels: (N,) classes.
        grid: ``.t`` (K',), ``.lines`` (K', L, P, 2); each frame uses the grid time nearest to it.
        extent: the box of the data (x0, x1, y0, y1); a frame's box never exceeds FRAME_CAP
            times its half-widths (a runaway point cannot shrink the rest to a dot).
        max_points: subsample the points to at most this many (SVG scatter stays smooth).

    At most 41 frames (times nearest an even spread of [0, T]); the slider reads "t = ...".
    Every frame sets the axis ranges to :func:`frame_box` of its points.
    """
    x = np.asarray(traj.x)[..., :2]
    t = np.asarray(traj.t, dtype=np.float64)
    frames_at = frame_indices(t)
    lines = np.asarray(grid.lines)[_nearest(grid.t, t[frames_at])]
    keep = subsample(x.shape[1], max_points)
    groups = class_groups(labels, keep)
    boxes = [frame_box(x[k, keep], extent) for k in frames_at]

    def frame_data(j: int) -> list[go.Scatter]:
        k = frames_at[j]
        mesh = nan_join(lines[j])
        data = [go.Scatter(x=f32(mesh[:, 0]), y=f32(mesh[:, 1]))]
        data += [go.Scatter(x=f32(x[k, idx, 0]), y=f32(x[k, idx, 1])) for _, idx in groups]
        return data

    first = frame_data(0)
    fig = go.Figure()
    fig.add_trace(
        first[0].update(
            mode="lines", name="grid", line={"color": GREY, "width": 1}, hoverinfo="skip"
        )
    )
    size = 8 if big else 6
    for (k, _), trace in zip(groups, first[1:], strict=True):
        fig.add_trace(
            trace.update(
                mode="markers",
                name=f"class {k}",
                marker={
                    "color": class_color(k),
                    "size": size,
                    "line": {"color": "white", "width": 0.5},
                },
                hoverinfo="skip",
            )
        )
    traces = list(range(1 + len(groups)))
    fig.frames = [
        go.Frame(
            name=str(j),
            data=frame_data(j),
            traces=traces,
            layout={"xaxis": {"range": list(box[:2])}, "yaxis": {"range": list(box[2:])}},
        )
        for j, box in enumerate(boxes)
    ]
    base_layout(fig, big=big)
    # Not at equal scale: a frame's ranges replace both axes' as they are (Plotly's animation
    # does not re-apply a scale anchor), so the axes may differ from the first frame on.
    plane_axes(fig, boxes[0], equal=False)
    fig.update_xaxes(showgrid=False)
    fig.update_yaxes(showgrid=False)
    _add_controls(fig, t[frames_at], big)
    return fig


def _animate_args(names: list[str] | None, duration: int) -> list[Any]:
    # redraw=False: only scatter coordinates change, which Plotly updates without a full redraw.
    return [
        names,
        {
            "mode": "immediate",
            "frame": {"duration": duration, "redraw": False},
            "transition": {"duration": 0},
            "fromcurrent": True,
        },
    ]


def _add_controls(fig: go.Figure, times: np.ndarray, big: bool) -> None:
    """Slider (one step per frame, "t = ...") and Play/Pause buttons below the plot."""
    size = fonts(big)
    steps = [
        {"method": "animate", "label": f"{tj:.2f}", "args": _animate_args([str(j)], 0)}
        for j, tj in enumerate(times)
    ]
    fig.update_layout(
        # Room below the x tick labels and axis title (about 3 lines) for the controls.
        margin={"b": round(5.5 * size["base"]) + 30},
        sliders=[
            {
                "active": 0,
                "steps": steps,
                "x": 0.16,
                "len": 0.84,
                "y": 0,
                "yanchor": "top",
                "pad": {"t": round(3.4 * size["base"]), "b": 0},
                # At the right end: at the left it would collide with big Play/Pause buttons.
                "currentvalue": {
                    "prefix": "t = ",
                    "xanchor": "right",
                    "font": {"size": size["axis_title"], "color": INK},
                },
                # Tick labels of 41 steps would overlap; the current value says where we are.
                "font": {"color": "rgba(0,0,0,0)"},
                "ticklen": 4,
            }
        ],
        updatemenus=[
            {
                "type": "buttons",
                "direction": "left",
                "showactive": False,
                "x": 0.0,
                "xanchor": "left",
                "y": 0,
                "yanchor": "top",
                "pad": {"t": round(3.4 * size["base"]) + 4, "r": 8},
                "font": {"size": size["base"]},
                "buttons": [
                    {"label": "▶", "method": "animate", "args": _animate_args(None, FRAME_MS)},
                    {"label": "❚❚", "method": "animate", "args": _animate_args([None], 0)},
                ],
            }
        ],
    )


def opening_at(fig: go.Figure, traj_times: np.ndarray, t: float) -> go.Figure:
    """A copy of a ``flow_animation_figure`` built with the trajectory times ``traj_times`` (K,)
    that opens at the frame nearest to depth t: that frame's points, grid and axis ranges, and
    the slider on it."""
    times = np.asarray(traj_times, dtype=np.float64)[frame_indices(traj_times)]
    j = int(np.argmin(np.abs(times - float(t))))
    opened = go.Figure(fig)
    frame = opened.frames[j]
    for index, data in zip(frame.traces, frame.data, strict=True):
        opened.data[index].update(x=data.x, y=data.y)
    opened.update_layout(xaxis_range=frame.layout.xaxis.range, yaxis_range=frame.layout.yaxis.range)
    opened.layout.sliders[0].active = j
    return opened
