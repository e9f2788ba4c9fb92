"""Figures of the Momentum page: phase space (x, a), the energy H = a·F and the adjoint field.

The momentum a(t) = dℓ/dx(t) points *uphill* in the loss. Arrows in the plane therefore show -a(t):
the direction in which nudging the hidden state would lower that point's loss fastest. Phase
portraits plot a itself, so (x_k, a_k) is the canonical phase plane of Hamilton's equations.

Every arrow of one figure shares one length scale (never normalised per arrow), shown by a key
arrow in the corner, so a short arrow really is a small gradient: well-classified points carry
almost no momentum.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from deqnet.figures.fields import (
    class_arrow_traces,
    log_length,
    longer_side,
    quiver_key,
    with_key_room,
)
from deqnet.figures.paths import class_groups, class_path_traces, subsample
from deqnet.figures.style import (
    INK,
    LIGHT_GREY,
    SUPERSCRIPTS,
    Extent,
    base_layout,
    class_color,
    f32,
    fonts,
    framed_box,
    label_positions,
    note_above,
    plane_axes,
    view_extent,
    widen_to_aspect,
)

if TYPE_CHECKING:
    from deqnet.analysis.adjoint import EnergyVariation, Momentum

T_TITLE = "t (depth)"
ARROWS_NAME = "−a(t): downhill in the loss"
# The longest momentum arrow along the chosen paths, as a fraction of the plot's larger side,
# and how many powers of ten of |a| its length spans (shorter arrows: see fields.log_length).
PATH_ARROW_FRACTION = 0.14
PATH_DECADES = 4.0
# The paths' axes reach at most this many times the starts' box (only a runaway gets cut).
PATHS_CAP = 25.0
PATHS_ASPECT = 1.1  # width / height of the paths' plot area on the page (560 px high)
# Phase portraits: a_k is linear within this many powers of ten below its largest |a_k|.
PHASE_DECADES = 5.0
# Adjoint field of many points: every arrow this fraction of the plot's larger side, shaded by
# log10 |a| over this many decades, light grey (small) to black (large).
FIELD_ARROW_FRACTION = 0.05
FIELD_DECADES = 4.0
MAGNITUDE_SCALE = [[0.0, "#D9D9D9"], [1.0, "#000000"]]
ARROWS_PER_PATH = 6
MAX_BOUNDARY_LINES = 24
MARKED_SAMPLES = 60  # H curves with at most this many samples show them as dots


def _num(value: float) -> str:
    """A relative size for a sentence: 3 significant digits, scientific when small."""
    return f"{value:.1e}" if abs(value) < 1e-2 else f"{value:.3g}"


def energy_summary(
    variation: EnergyVariation, *, time_mode: str, discrete: bool, n_segments: int
) -> str:
    """Two short lines on H for the chart (joined by "<br>", at most about 32 characters each,
    to fit a half-width column): flat, stepwise or drifting, with the measured relative change
    (peak-to-peak along a path / its mean |H|, worst point).

    ``time_mode`` is the model's ("autonomous", "piecewise", "time"); discrete networks use the
    discrete H, which tied weights conserve only up to O(Δt).
    """
    if time_mode == "time":
        head = f"H drifts: change up to {_num(variation.overall)},"
        detail = "as F depends on t (∂H/∂t ≠ 0)."
    elif time_mode == "piecewise" and n_segments > 1:
        jumps = f"jumps ≤ {_num(variation.jump)} where weights switch."
        if discrete and variation.within == 0.0:
            head = "Discrete H: weights per layer;"
        else:
            kind = "Discrete H" if discrete else "H"
            head = f"{kind} stepwise: ≤ {_num(variation.within)} per segment;"
        detail = jumps
    elif discrete:
        head = f"Discrete H: change {_num(variation.overall)};"
        detail = "tied weights keep it to O(Δt)."
    else:
        head = f"H is flat: change ≤ {_num(variation.overall)},"
        detail = "only solver and rounding error."
    return f"{head}<br>{detail}"


def pick_figure(
    x: np.ndarray, labels: np.ndarray, defaults: np.ndarray, *, extent: Extent, big: bool = False
) -> go.Figure:
    """Training points (N, 2) coloured by class, for picking points with a click, box or lasso.

    Every marker carries its row index in ``customdata``, so a selection names training points.
    The ``defaults`` (indices) are ringed. The figure depends on the data only: Streamlit keeps
    a chart's selection only while the figure stays the same. No drag mode is set: Streamlit
    then pans on drag and selects on click (a select drag mode would turn click-selection off).
    """
    x = np.asarray(x)
    labels = np.asarray(labels).astype(np.int64)
    fig = go.Figure()
    size = 9 if big else 7
    for k, idx in class_groups(labels, np.arange(len(labels))):
        fig.add_trace(
            go.Scatter(
                x=f32(x[idx, 0]),
                y=f32(x[idx, 1]),
                mode="markers",
                name=f"class {k}",
                customdata=idx,
                marker={"color": class_color(k), "size": size, "line": {"color": "white"}},
                selected={"marker": {"size": size + 5}},
                unselected={"marker": {"opacity": 0.35}},
                hovertemplate="training point %{customdata}<br>(%{x:.2f}, %{y:.2f})<extra></extra>",
            )
        )
    defaults = np.asarray(defaults, dtype=np.int64)
    fig.add_trace(
        go.Scatter(
            x=f32(x[defaults, 0]),
            y=f32(x[defaults, 1]),
            mode="markers",
            name="shown by default",
            customdata=defaults,
            marker={"symbol": "circle-open", "size": size + 9, "color": INK, "line": {"width": 2}},
            # The defaults stay followed while other points are picked: never fade the rings.
            unselected={"marker": {"opacity": 1}},
            hovertemplate="default point %{customdata}<extra></extra>",
        )
    )
    base_layout(fig, big=big)
    plane_axes(fig, extent)
    return fig


def momentum_paths_figure(
    mom: Momentum,
    labels: np.ndarray,
    *,
    numbers: list[str] | None = None,
    discrete: bool = False,
    big: bool = False,
) -> go.Figure:
    """Paths x(t) of a few points with arrows -a(t) drawn at x(t) along them ("momentum flow").

    Args:
        mom: ``.x`` and ``.a`` (K, N, D); the first two components are drawn.
        labels: (N,) classes.
        numbers: (N,) names written at the starts (default "1" ... "N"); a name that would
            overlap another is left out (hover still gives it).
        discrete: the path vertices are layer states (drawn as dots).

    At most ARROWS_PER_PATH times get arrows. |a| spans many powers of ten between points, so an
    arrow's length grows with log10 |a|: PATH_ARROW_FRACTION of the plot's larger side at the
    largest |a|, one PATH_DECADES-th shorter per factor 10 below it (never shorter than
    SHORTEST_ARROW of that); two key arrows above the paths show the largest |a| and 100 times
    less. The axes frame the paths themselves (a runaway path aside) at equal scale, so an
    arrow's length means the same in every direction; the shorter side is widened to
    PATHS_ASPECT, the shape of the page's plot area, so tall paths are not drawn as a sliver.
    """
    x, a = np.asarray(mom.x)[..., :2], np.asarray(mom.a)[..., :2]
    t = np.asarray(mom.t, dtype=np.float64)
    labels = np.asarray(labels).astype(np.int64)
    n = x.shape[1]
    numbers = numbers or [str(i + 1) for i in range(n)]
    box = view_extent(x, framed_box(x[0]), cap=PATHS_CAP)
    fig = go.Figure()
    for i in range(n):
        color = class_color(labels[i])
        fig.add_trace(
            go.Scatter(
                x=f32(x[:, i, 0]),
                y=f32(x[:, i, 1]),
                mode="lines+markers" if discrete else "lines",
                name=f"class {labels[i]}",
                legendgroup=f"class {labels[i]}",
                showlegend=bool(i == np.flatnonzero(labels == labels[i])[0]),
                line={"color": color, "width": 3 if big else 2},
                marker={"color": color, "size": 5},
                customdata=t,
                hovertemplate=(
                    f"point {numbers[i]}, t = %{{customdata:.2f}}<br>"
                    "x = (%{x:.2f}, %{y:.2f})<extra></extra>"
                ),
            )
        )
    when = subsample(len(t), ARROWS_PER_PATH)
    tails = x[when].reshape(-1, 2)
    arrows = -a[when].reshape(-1, 2)
    arrow_labels = np.tile(labels, len(when))
    norms = np.hypot(arrows[:, 0], arrows[:, 1])
    finite = norms[np.isfinite(norms)]
    largest = float(finite.max()) if finite.size else 0.0
    longest = PATH_ARROW_FRACTION * longer_side(box)
    lengths = log_length(norms, largest, longest, PATH_DECADES)
    for trace in class_arrow_traces(
        tails,
        arrows,
        arrow_labels,
        lengths,
        name=ARROWS_NAME,
        hover="−a = (%{customdata[0]:.3g}, %{customdata[1]:.3g})<extra></extra>",
        width=2.5 if big else 2,
        arrowsize=1.2,
    ):
        fig.add_trace(trace)
    colors = [class_color(k) for k in labels]
    size = 11 if big else 9
    places = label_positions(x[0], box)
    fig.add_trace(
        go.Scatter(
            x=f32(x[0, :, 0]),
            y=f32(x[0, :, 1]),
            mode="markers+text",
            name="start x(0)",
            text=[name if place else "" for name, place in zip(numbers, places, strict=True)],
            textposition=[place or "top left" for place in places],
            textfont={"size": fonts(big)["base"], "color": INK},
            customdata=numbers,
            marker={"symbol": "circle-open", "size": size, "color": colors, "line": {"width": 2}},
            hovertemplate="point %{customdata} at t = 0<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=f32(x[-1, :, 0]),
            y=f32(x[-1, :, 1]),
            mode="markers",
            name="end x(T)",
            marker={"size": size, "color": colors, "line": {"color": "white", "width": 1}},
            hovertemplate="x(T) = (%{x:.2f}, %{y:.2f})<extra></extra>",
        )
    )
    small = largest / 100
    keys = [
        (small, float(log_length(np.array(small), largest, longest, PATH_DECADES))),
        (largest, longest),
    ]
    quiver_key(fig, box, keys, name=ARROWS_NAME, symbol="|a|", big=big)
    base_layout(fig, big=big)
    plane_axes(fig, widen_to_aspect(with_key_room(box, rows=len(keys)), PATHS_ASPECT))
    return fig


def symlog(values: np.ndarray, linear: float) -> np.ndarray:
    """asinh(values / linear): like log10 |values| (with the sign) far from 0, linear within
    about ``linear`` of it, so values of both signs spread over several decades can share an
    axis."""
    return np.arcsinh(np.asarray(values, dtype=np.float64) / linear)


def symlog_ticks(largest: float, linear: float, most: int = 2) -> tuple[list[float], list[str]]:
    """Tick positions on a :func:`symlog` axis and their labels: 0 and ±10^k from 100 times
    ``linear`` up to ``largest`` (at most ``most`` powers per sign, every other one when there
    are more, always with the largest)."""
    if largest <= 0 or linear <= 0:
        return [0.0], ["0"]
    # From two powers above ``linear``: closer to 0 their labels would sit on the 0 label.
    powers = list(range(math.floor(math.log10(linear)) + 2, math.floor(math.log10(largest)) + 1))
    while len(powers) > most:
        powers = powers[::-2][::-1]  # every other power, keeping the largest
    vals, text = [0.0], ["0"]
    for k in powers:
        for sign in (1, -1):
            vals.append(float(symlog(np.array(sign * 10.0**k), linear)))
            text.append(("−" if sign < 0 else "") + power_of_ten(k))
    return vals, text


def power_of_ten(k: int) -> str:
    """10^k with a superscript exponent: "10⁻³", "1" for k = 0, "10" for k = 1."""
    if k == 0:
        return "1"
    if k == 1:
        return "10"
    return "10" + str(k).translate(SUPERSCRIPTS)


def phase_portraits_figure(
    mom: Momentum,
    labels: np.ndarray,
    *,
    numbers: list[str] | None = None,
    discrete: bool = False,
    big: bool = False,
) -> go.Figure:
    """(x_k(t), a_k(t)) for k = 1, 2, one above the other: each point's path in phase space.

    Open circles mark t = 0, dots t = T. Forward and backward propagation are Hamilton's
    equations, so these are phase portraits; their flow keeps area in the full (x, a) space.
    a_k is drawn on a :func:`symlog` axis (linear within PHASE_DECADES decades below the largest
    |a_k|), because the momenta of different points differ by powers of ten; hover gives a_k.
    """
    x, a = np.asarray(mom.x), np.asarray(mom.a)
    labels = np.asarray(labels).astype(np.int64)
    n = x.shape[1]
    numbers = numbers or [str(i + 1) for i in range(n)]
    t = np.asarray(mom.t, dtype=np.float64)
    fig = make_subplots(rows=2, cols=1, vertical_spacing=0.2)
    ticks = []
    for row in (1, 2):
        k = row - 1
        sub = "₁₂"[k]
        size = np.abs(a[..., k])
        size = size[np.isfinite(size)]
        largest = float(size.max()) if size.size else 0.0
        linear = largest * 10.0**-PHASE_DECADES if largest > 0 else 1.0
        ticks.append(symlog_ticks(largest, linear))
        a_axis = symlog(a[..., k], linear)
        lines = class_path_traces(
            np.stack([x[..., k], a_axis], axis=2),
            labels,
            width=3 if big else 2,
            kind=go.Scatter,
            mode="lines+markers" if discrete else "lines",
            showlegend=row == 1,
            marker={"size": 5},
            hoverinfo="skip",
        )
        for line in lines:
            if len(line.x):  # a class without chosen points draws nothing
                fig.add_trace(line, row=row, col=1)
        colors = [class_color(c) for c in labels]
        for when, name, marker in (
            (0, "t = 0", {"symbol": "circle-open", "size": 10, "line": {"width": 2}}),
            (-1, "t = T", {"size": 10, "line": {"color": "white", "width": 1}}),
        ):
            fig.add_trace(
                go.Scatter(
                    x=f32(x[when, :, k]),
                    y=f32(a_axis[when]),
                    mode="markers",
                    name=name,
                    legendgroup=name,
                    showlegend=row == 1,
                    text=numbers,
                    customdata=f32(a[when, :, k]),
                    marker={**marker, "color": colors},
                    hovertemplate=(
                        f"point %{{text}} at t = {t[when]:.2f}<br>x{sub} = %{{x:.3g}}, "
                        f"a{sub} = %{{customdata:.3g}}<extra></extra>"
                    ),
                ),
                row=row,
                col=1,
            )
    base_layout(fig, big=big)
    for row in (1, 2):
        sub = "₁₂"[row - 1]
        vals, text = ticks[row - 1]
        fig.update_xaxes(title_text=f"x{sub}(t)", row=row, col=1)
        fig.update_yaxes(title_text=f"a{sub}(t)", tickvals=vals, ticktext=text, row=row, col=1)
    return fig


def energy_figure(
    t: np.ndarray,
    H: np.ndarray,
    labels: np.ndarray,
    *,
    summary: str,
    numbers: list[str] | None = None,
    segments: np.ndarray | None = None,
    bounds: np.ndarray | None = None,
    discrete: bool = False,
    big: bool = False,
) -> go.Figure:
    """H(t) (K, N) per point against t, the ``summary`` sentence written above the curves.

    Args:
        t: (K,) times.
        H: (K, N) energy along each path.
        segments: (K,) weight segment of each time; a continuous curve is broken where the
            segment changes (a jump, not a steep slope: nothing happens between the samples).
        bounds: segment boundaries (K_seg + 1,) from 0 to T; the inner ones are drawn as dotted
            vertical lines (when there are at most MAX_BOUNDARY_LINES).
        discrete: H_l belongs to the step from layer l to l + 1, so it is drawn as a staircase
            constant on [t_l, t_{l+1}).
    """
    t = np.asarray(t, dtype=np.float64)
    h = np.asarray(H, dtype=np.float64)
    labels = np.asarray(labels).astype(np.int64)
    n = h.shape[1]
    numbers = numbers or [str(i + 1) for i in range(n)]
    if segments is not None and not discrete:
        # A NaN row before every sample that starts a new segment: Plotly leaves a gap there.
        starts = np.flatnonzero(np.diff(np.asarray(segments)) != 0) + 1
        t = np.insert(t, starts, np.nan)
        h = np.insert(h, starts, np.nan, axis=0)
    fig = go.Figure()
    for i in range(n):
        fig.add_trace(
            go.Scatter(
                x=f32(t),
                y=f32(h[:, i]),
                mode="lines+markers" if discrete or len(t) <= MARKED_SAMPLES else "lines",
                line={
                    "color": class_color(labels[i]),
                    "width": 3 if big else 2,
                    "shape": "hv" if discrete else "linear",
                },
                marker={"size": 5},
                name=f"class {labels[i]}",
                legendgroup=f"class {labels[i]}",
                showlegend=bool(i == np.flatnonzero(labels == labels[i])[0]),
                hovertemplate=(
                    f"point {numbers[i]}: H = %{{y:.6g}} at t = %{{x:.2f}}<extra></extra>"
                ),
            )
        )
    if bounds is not None and 2 < len(bounds) <= MAX_BOUNDARY_LINES + 2:
        for b in np.asarray(bounds, dtype=np.float64)[1:-1]:
            fig.add_vline(x=float(b), line={"color": LIGHT_GREY, "width": 1.5, "dash": "dot"})
    fig.add_hline(y=0, line={"color": LIGHT_GREY, "width": 1})
    base_layout(fig, big=big)
    note_above(fig, summary, big=big, lines=2)
    finite = t[np.isfinite(t)]
    span = [float(finite[0]), float(finite[-1])] if len(finite) else None
    fig.update_xaxes(title_text=T_TITLE, range=span)
    fig.update_yaxes(title_text="H = a·F")
    return fig


def _log_magnitude_range(a: np.ndarray) -> tuple[float, float]:
    """(cmin, cmax) of log10 |a| over every point and time of ``a`` (K, N, 2): at most
    FIELD_DECADES decades below the largest, so the colours mean the same at every t."""
    norms = np.hypot(a[..., 0], a[..., 1]).ravel()
    norms = norms[np.isfinite(norms) & (norms > 0)]
    if not norms.size:
        return -1.0, 0.0
    high = float(np.log10(norms.max()))
    low = max(float(np.log10(norms.min())), high - FIELD_DECADES)
    return (low, high) if high > low else (high - 1.0, high)


def adjoint_field_figure(
    mom: Momentum,
    labels: np.ndarray,
    k: int,
    *,
    time_label: str,
    big: bool = False,
) -> go.Figure:
    """The adjoint field at time t_k: at every x(t_k) an arrow along -a(t_k), shaded by |a|.

    Args:
        mom: ``.x``, ``.a`` (K, N, D) of many points; the first two components are drawn.
        labels: (N,) classes (the points under the arrows are coloured by class).
        k: the time index drawn.
        time_label: e.g. "t = 0.50" or "layer 3 (t = 0.30)", written in the legend.

    |a| spans several decades (points the model is sure about have almost none), so a length
    proportional to |a| would show only a handful of arrows. Here every arrow has the same length
    and shows the direction; its shade is log10 |a| on one colour scale for all times (light:
    small, black: large, FIELD_DECADES decades), so the colours compare across t. Hover gives
    |a| and -a itself. The axes frame x(t_k) from its 1 % to its 99 % quantile (a few far points
    do not shrink the rest), at equal scale (every arrow equally long on screen).
    """
    x, a = np.asarray(mom.x)[..., :2], np.asarray(mom.a)[..., :2]
    labels = np.asarray(labels).astype(np.int64)
    box = framed_box(x[k], low=0.01, high=0.99)
    cmin, cmax = _log_magnitude_range(a)
    fig = go.Figure()
    for c, idx in class_groups(labels, np.arange(len(labels))):
        fig.add_trace(
            go.Scatter(
                x=f32(x[k, idx, 0]),
                y=f32(x[k, idx, 1]),
                mode="markers",
                name=f"class {c} at {time_label}",
                marker={"color": class_color(c), "size": 6 if big else 5},
                hoverinfo="skip",
            )
        )
    minus_a = -a[k]
    norm = np.hypot(minus_a[:, 0], minus_a[:, 1])
    keep = np.flatnonzero(np.isfinite(norm) & (norm > 0))
    keep = keep[np.argsort(norm[keep])]  # the largest gradients drawn last, on top
    unit = minus_a[keep] / norm[keep, None]
    length = FIELD_ARROW_FRACTION * longer_side(box)
    fig.add_trace(
        go.Quiver(
            x=f32(x[k, keep, 0]),
            y=f32(x[k, keep, 1]),
            # Prescaled to data units: see deqnet.figures.fields for why not lengthfactor.
            u=f32(unit[:, 0] * length),
            v=f32(unit[:, 1] * length),
            anchor="tail",
            arrowref="data",
            lengthmode="raw",
            lengthfactor=1.0,
            marker={
                "color": f32(np.log10(norm[keep])),
                "colorscale": MAGNITUDE_SCALE,
                "cmin": cmin,
                "cmax": cmax,
                "showscale": True,
                "colorbar": _decade_colorbar(cmin, cmax, big),
                "line": {"width": 2 if big else 1.5},
                "arrowsize": 0.9,
            },
            customdata=f32(np.column_stack([norm[keep], minus_a[keep]])),
            name="direction of −a(t), shaded by |a|",
            showlegend=False,  # the colour bar explains the arrows; a legend swatch cannot
            hovertemplate=(
                "at (%{x:.2f}, %{y:.2f})<br>|a| = %{customdata[0]:.3g}<br>"
                "−a = (%{customdata[1]:.3g}, %{customdata[2]:.3g})<extra></extra>"
            ),
        )
    )
    base_layout(fig, big=big)
    plane_axes(fig, box)
    return fig


def _decade_colorbar(cmin: float, cmax: float, big: bool) -> dict:
    """A colour bar for log10 |a| labelled in powers of ten."""
    decades = np.arange(np.ceil(cmin), np.floor(cmax) + 1)
    return {
        "title": {"text": "|a|", "font": {"size": fonts(big)["axis_title"]}},
        "tickvals": decades.tolist(),
        "ticktext": [f"1e{int(d)}" for d in decades],
        "tickfont": {"size": fonts(big)["tick"]},
        "thickness": 14,
        "len": 0.8,
    }
