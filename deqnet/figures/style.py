"""One look for every figure: class colours, the probability colour scale, fonts and layout.

Class k has the same colour in every figure of the app (Okabe-Ito order, safe for the common
colour-vision deficiencies). Figures are projected in classrooms, so ``big=True`` gives fonts that
read from the back of a room. Arrays go out as float32: Plotly ships NumPy arrays as base64 typed
arrays, and float32 halves the payload of every live update.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go

if TYPE_CHECKING:
    from deqnet.datasets import Dataset

Extent = tuple[float, float, float, float]

# Okabe-Ito: blue, orange, bluish green, vermillion, reddish purple, sky blue, then two more.
CLASS_COLORS: tuple[str, ...] = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#F0E442",
    "#000000",
)
GREY = "#8C8C8C"
LIGHT_GREY = "#BDBDBD"
INK = "#222222"
FOLD_COLOR = "#D62728"  # red: where a layer map turns the plane over
# Training curves: neutral ink, so they never look like a class. Train solid, test dashed.
SPLIT_STYLE: dict[str, dict[str, Any]] = {
    "train": {"color": INK, "dash": "solid"},
    "test": {"color": "#6E6E6E", "dash": "dash"},
}

# Probability shading reaches this fraction of the class colour at certainty: points drawn in the
# full colour stay visible on top of it.
SHADE_STRENGTH = 0.6
SVG_MARKERS = 1000  # keyed_markers draws up to this many points as SVG, more with WebGL

# Font sizes (px). PROJECTOR_FONT is what big=True uses; NORMAL_FONT is for small side panels.
PROJECTOR_FONT: dict[str, int] = {"base": 18, "tick": 18, "axis_title": 22, "title": 24}
NORMAL_FONT: dict[str, int] = {"base": 13, "tick": 13, "axis_title": 15, "title": 17}


# Regression pages draw target bands (``target_bands``) where classification draws classes:
# inside ``colour_by_target`` the figures' class colours are the bands' colours. A context
# variable, so it holds for one script run's thread only, never for another session's.
_BANDS: ContextVar[bool] = ContextVar("deqnet_target_bands", default=False)


def class_color(k: int) -> str:
    """Hex colour of class k (colours repeat after len(CLASS_COLORS) classes); inside
    :func:`colour_by_target`, of target band k (:func:`band_color`)."""
    if _BANDS.get():
        return band_color(k)
    return CLASS_COLORS[int(k) % len(CLASS_COLORS)]


@contextmanager
def colour_by_target(on: bool = True) -> Iterator[None]:
    """Figures built inside draw labels as target bands in the output's colours, without a
    legend (a colour bar, :func:`target_colorbar`, reads them); ``on=False`` changes nothing."""
    token = _BANDS.set(on)
    try:
        yield
    finally:
        _BANDS.reset(token)


def target_colorbar(fig: go.Figure, value_range: tuple[float, float]) -> go.Figure:
    """Add a colour bar of the targets (``OUTPUT_COLORSCALE`` on ``value_range``) to a 2-D
    figure whose points are coloured by target band; returns the figure."""
    fig.add_trace(
        go.Scatter(
            x=[None],
            y=[None],
            mode="markers",
            marker={
                "color": [value_range[0]],
                "colorscale": OUTPUT_COLORSCALE,
                "cmin": value_range[0],
                "cmax": value_range[1],
                "showscale": True,
                "colorbar": {"title": {"text": "target"}, "thickness": 14, "len": 0.8},
            },
            showlegend=False,
            hoverinfo="skip",
        )
    )
    return fig


def hex_to_rgb(color: str) -> np.ndarray:
    """'#RRGGBB' -> (3,) float64 in 0..255."""
    text = color.lstrip("#")
    return np.array([int(text[i : i + 2], 16) for i in (0, 2, 4)], dtype=np.float64)


def rgb_to_hex(rgb: np.ndarray) -> str:
    """(3,) values in 0..255 -> '#rrggbb' (rounded, clipped)."""
    r, g, b = np.clip(np.rint(rgb), 0, 255).astype(int)
    return f"#{r:02x}{g:02x}{b:02x}"


def tint(color: str, strength: float = SHADE_STRENGTH) -> str:
    """The colour mixed with white: strength 1 is the colour itself, 0 is white."""
    white = np.full(3, 255.0)
    return rgb_to_hex(white + strength * (hex_to_rgb(color) - white))


def rgba(color: str, alpha: float) -> str:
    """'#RRGGBB' with an opacity, as a CSS rgba() string."""
    r, g, b = hex_to_rgb(color).astype(int)
    return f"rgba({r},{g},{b},{alpha:g})"


def class_colorscale(
    low: int = 0, high: int = 1, strength: float = SHADE_STRENGTH
) -> list[list[float | str]]:
    """Colour scale for P(class ``high``) on 0..1: class ``low``'s tint at 0, white at 0.5, class
    ``high``'s tint at 1, so the undecided region is white and the boundary sits in it."""
    return [
        [0.0, tint(class_color(low), strength)],
        [0.5, "#ffffff"],
        [1.0, tint(class_color(high), strength)],
    ]


TARGET_LEVELS = 7  # regression targets drawn in this many colour bands (paths, thumbnails)
# A regression model's output: TF Playground's orange (negative) through white (0) to blue
# (positive), at the shading's strength so target-coloured points stand out on it.
OUTPUT_COLORSCALE: list[list[float | str]] = [
    [0.0, "#E8731A"],
    [0.5, "#ffffff"],
    [1.0, "#1F6FB4"],
]


def output_color(level: float) -> str:
    """Hex colour of ``OUTPUT_COLORSCALE`` at ``level`` in [0, 1] (linear in RGB between its
    stops, as Plotly mixes), for points drawn outside Plotly (thumbnails)."""
    level = min(max(float(level), 0.0), 1.0)
    (v0, c0), (v1, c1) = OUTPUT_COLORSCALE[:2] if level <= 0.5 else OUTPUT_COLORSCALE[1:]
    w = (level - v0) / (v1 - v0)
    a, b = (int(c0[1:], 16), int(c1[1:], 16))
    channels = [round((a >> s & 255) + w * ((b >> s & 255) - (a >> s & 255))) for s in (16, 8, 0)]
    return "#" + "".join(f"{c:02x}" for c in channels)


def target_bands(targets: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    """Regression targets (N,) as colour groups (N,) int64 in 0..TARGET_LEVELS-1: equal bands
    of ``value_range``, so figures that draw one trace per class draw one per band, in
    :func:`band_color`."""
    lo, hi = value_range
    level = (np.asarray(targets, dtype=np.float64) - lo) / (hi - lo)
    level = np.nan_to_num(level, nan=0.5)
    return np.clip((level * TARGET_LEVELS).astype(np.int64), 0, TARGET_LEVELS - 1)


def display_labels(data: Dataset, y: np.ndarray) -> np.ndarray:
    """Labels ``y`` (N,) of ``data``'s points as figures draw them, int64: the classes, or for
    regression the targets' bands (:func:`target_bands` over the data's fixed
    :func:`output_range`), drawn in the output's colours inside :func:`colour_by_target`."""
    if data.task != "regression":
        return np.asarray(y).astype(np.int64)
    return target_bands(y, output_range(data.y_all))


def band_color(k: int) -> str:
    """The colour of target band k (:func:`target_bands`): the output's scale at its middle,
    40 % of the way to grey, so the bands near 0 (white on the scale) stay visible on a
    white plot."""
    colour = hex_to_rgb(output_color((int(k) + 0.5) / TARGET_LEVELS))
    return rgb_to_hex(0.6 * colour + 0.4 * hex_to_rgb(GREY))


def output_range(targets: np.ndarray) -> tuple[float, float]:
    """The fixed colour range (-r, r) of a regression model's output and its targets (N,):
    symmetric about 0 (white), r = max(1, max |target|), so the built-in data sets (about
    [-1, 1]) keep the same scale throughout training."""
    finite = np.asarray(targets, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    r = max(1.0, float(np.abs(finite).max())) if finite.size else 1.0
    return (-r, r)


def probability_image(
    probs: np.ndarray, *, discretize: bool = False, strength: float = SHADE_STRENGTH
) -> np.ndarray:
    """RGB image (n, m, 3) uint8 of class probabilities (n, m, C) for ``go.Image``.

    Each pixel is the colour of its most likely class, composited over white with an opacity
    that grows from 0 (a tie between all C classes, p_max = 1/C) to ``strength`` (p_max = 1).
    ``discretize`` uses full opacity ``strength`` everywhere (TF Playground's "discretize").
    """
    probs = np.asarray(probs, dtype=np.float64)
    n_classes = probs.shape[-1]
    winner = probs.argmax(axis=-1)
    palette = np.stack([hex_to_rgb(class_color(k)) for k in range(n_classes)])
    if discretize:
        alpha = np.full(winner.shape, strength)
    else:
        chance = 1.0 / n_classes
        confidence = (probs.max(axis=-1) - chance) / (1.0 - chance)
        alpha = strength * np.clip(np.nan_to_num(confidence), 0.0, 1.0)
    white = np.full(3, 255.0)
    rgb = white + alpha[..., None] * (palette[winner] - white)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def f32(a: Any) -> np.ndarray:
    """The array as float32 (half the JSON payload of float64); non-finite values become NaN,
    which Plotly treats as a gap."""
    out = np.asarray(a, dtype=np.float32)
    if not np.all(np.isfinite(out)):
        out = np.where(np.isfinite(out), out, np.float32("nan"))
    return out


def fonts(big: bool) -> dict[str, int]:
    """The font sizes for a projector (big) or a side panel."""
    return PROJECTOR_FONT if big else NORMAL_FONT


def _template(big: bool) -> dict[str, Any]:
    """A small white template (plotly's named templates are ~10 kB of JSON and slow to copy; this
    one is a few hundred bytes). Axis styles live here so they reach every subplot's axes."""
    size = fonts(big)
    axis = {
        "tickfont": {"size": size["tick"]},
        "title": {"font": {"size": size["axis_title"]}, "standoff": 4},
        "automargin": True,
        "showline": True,
        "linecolor": LIGHT_GREY,
        "mirror": True,
        "zeroline": False,
        "gridcolor": "#EBEBEB",
        "ticks": "",
    }
    return {
        "layout": {
            "paper_bgcolor": "white",
            "plot_bgcolor": "white",
            "colorway": list(CLASS_COLORS),
            "font": {"size": size["base"], "color": INK},
            "hoverlabel": {"font": {"size": size["base"]}},
            "xaxis": axis,
            "yaxis": axis,
            "annotationdefaults": {"font": {"size": size["axis_title"]}},
        }
    }


TEMPLATES: dict[bool, dict[str, Any]] = {big: _template(big) for big in (False, True)}


def base_layout(
    fig: go.Figure, *, title: str | None = None, big: bool = False, legend: bool = True
) -> go.Figure:
    """Apply the house style in place and return the figure.

    A small white template, large fonts when ``big`` (ticks >= 18 px, axis titles >= 22 px),
    tight margins and a horizontal legend above the plot (none inside ``colour_by_target``).
    Axis styles come from the template, so they reach every 2-D axis, including subplots added
    later.
    """
    size = fonts(big)
    legend = legend and not _BANDS.get()  # target bands: "class k" entries would mislead
    legend_rows = 1 if legend else 0
    top = 8 + round(1.6 * size["base"]) * legend_rows + (round(1.9 * size["title"]) if title else 0)
    # Assigned, not passed to update_layout: that would deep-merge it into plotly's default
    # template, which costs ~10x more than building the whole figure.
    fig.layout.template = TEMPLATES[big]
    layout: dict[str, Any] = {
        "margin": {"l": 8, "r": 8, "t": top, "b": 8, "pad": 0},
        "showlegend": legend,
        "legend": {
            "orientation": "h",
            "x": 0.0,
            "xanchor": "left",
            "y": 1.0,
            "yanchor": "bottom",
            "font": {"size": size["base"]},
            "itemsizing": "constant",
            "bgcolor": "rgba(255,255,255,0)",
        },
    }
    if title:
        layout["title"] = {
            "text": title,
            "x": 0.0,
            "xanchor": "left",
            "xref": "paper",
            "y": 1.0,
            "yanchor": "top",
            "yref": "container",
            "pad": {"t": 6},
            "font": {"size": size["title"]},
        }
    fig.update_layout(layout)
    return fig


def scene_axes(big: bool, titles: tuple[str, str, str]) -> dict[str, Any]:
    """Layout of a 3-D scene: axis titles and fonts, a fixed camera (Streamlit reruns reset a
    camera that is not set explicitly) and a cube aspect."""
    size = fonts(big)
    axes = {}
    for name, text in zip(("xaxis", "yaxis", "zaxis"), titles, strict=True):
        axes[name] = {
            "title": {"text": text, "font": {"size": size["axis_title"]}},
            "tickfont": {"size": size["tick"]},
            "backgroundcolor": "white",
            "gridcolor": "#DDDDDD",
            "showbackground": True,
            # Fewer ticks: labels of neighbouring axes collide at the scene's corners.
            "nticks": 5,
        }
    return {
        **axes,
        "aspectmode": "cube",
        "camera": {
            "eye": {"x": 1.45, "y": -1.45, "z": 0.75},
            "center": {"x": 0, "y": 0, "z": -0.1},
            "up": {"x": 0, "y": 0, "z": 1},
        },
    }


def plane_axes(
    fig: go.Figure,
    extent: Extent,
    *,
    row: int | None = None,
    col: int | None = None,
    titles: tuple[str, str] = ("x₁", "x₂"),
    equal: bool = True,
) -> go.Figure:
    """Fix the axis ranges to extent (x0, x1, y0, y1) and (``equal``) make one unit equally long
    on both axes.

    ``constrain="domain"`` shrinks the plot area instead of widening a range, so the ranges stay
    exactly as given (they must not jump while a model trains). Never ``constrain="range"`` with
    equal scale: Plotly writes the widened range back into the layout, and Streamlit's first
    render at a narrow width then leaves both axes far too wide (±17 for paths in ±4).
    """
    x0, x1, y0, y1 = (float(e) for e in extent)
    # A y axis is anchored to its subplot's x axis ("x", "x2", ...); scale it against that one.
    x_id = "x" if row is None else fig.get_subplot(row, col).yaxis.anchor
    fig.update_xaxes(range=[x0, x1], constrain="domain", title_text=titles[0], row=row, col=col)
    fig.update_yaxes(range=[y0, y1], constrain="domain", title_text=titles[1], row=row, col=col)
    if equal:
        fig.update_yaxes(scaleanchor=x_id, scaleratio=1, row=row, col=col)
    return fig


def view_extent(
    points: np.ndarray, extent: Extent, *, cap: float = 4.0, fence: float = 0.5
) -> Extent:
    """A box (x0, x1, y0, y1) that covers ``extent`` and every path that is not a runaway.

    ``points`` are paths (K, N, 2) (K times of N paths) or single points (N, 2); a path counts by
    its furthest excursion. Per coordinate, the paths' minima and maxima have a core range from
    the 5 % quantile of the minima to the 95 % quantile of the maxima; a path reaching further
    than ``fence`` core widths beyond the core is a runaway and ignored, so one exploding path
    does not shrink everything else to a dot. The box never exceeds ``cap`` times the extent's
    half-widths around its centre. Non-finite values are ignored.
    """
    x0, x1, y0, y1 = (float(e) for e in extent)
    low, high = np.array([x0, y0]), np.array([x1, y1])
    pts = np.asarray(points, dtype=np.float64)
    pts = pts.reshape(-1, *pts.shape[-2:]) if pts.ndim >= 3 else pts.reshape(1, -1, 2)
    finite = np.isfinite(pts).all(axis=-1, keepdims=True)
    lows = np.where(finite, pts, np.inf).min(axis=0)
    highs = np.where(finite, pts, -np.inf).max(axis=0)
    seen = np.isfinite(lows).all(axis=1)
    if seen.any():
        lows, highs = lows[seen], highs[seen]
        core_low, core_high = np.quantile(lows, 0.05, axis=0), np.quantile(highs, 0.95, axis=0)
        reach = fence * (core_high - core_low)
        seen_low = np.where(lows >= core_low - reach, lows, np.inf).min(axis=0)
        seen_high = np.where(highs <= core_high + reach, highs, -np.inf).max(axis=0)
        centre, half = (low + high) / 2, (high - low) / 2
        seen_low = np.maximum(seen_low, centre - cap * half)
        seen_high = np.minimum(seen_high, centre + cap * half)
        margin = 0.04 * (high - low)
        low = np.where(seen_low < low, seen_low - margin, low)
        high = np.where(seen_high > high, seen_high + margin, high)
    return float(low[0]), float(high[0]), float(low[1]), float(high[1])


def framed_box(
    points: np.ndarray,
    *,
    low: float = 0.0,
    high: float = 1.0,
    pad: float = 0.06,
    least: float = 0.5,
) -> Extent:
    """A box (x0, x1, y0, y1) framing the finite points (..., 2): per coordinate from the
    ``low`` to the ``high`` quantile (0 and 1: all points; e.g. 0.01 and 0.99 ignore a few
    outliers), widened by ``pad`` of its size on each side and to at least ``least`` across.
    (-1.5, 1.5, -1.5, 1.5) if there are no finite points."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    pts = pts[np.isfinite(pts).all(axis=-1)]
    if not len(pts):
        return (-1.5, 1.5, -1.5, 1.5)
    lo, hi = np.quantile(pts, low, axis=0), np.quantile(pts, high, axis=0)
    centre = (lo + hi) / 2
    half = np.maximum((hi - lo) / 2, least / 2) * (1 + 2 * pad)
    return (
        float(centre[0] - half[0]),
        float(centre[0] + half[0]),
        float(centre[1] - half[1]),
        float(centre[1] + half[1]),
    )


def widen_to_aspect(box: Extent, aspect: float) -> Extent:
    """The box (x0, x1, y0, y1) with its shorter side widened about its centre until width /
    height = ``aspect``: at equal scale it then fills a plot area of that shape, where the
    original box would have been a sliver."""
    x0, x1, y0, y1 = box
    width, height = x1 - x0, y1 - y0
    if width < aspect * height:
        grow = (aspect * height - width) / 2
        return x0 - grow, x1 + grow, y0, y1
    grow = (width / aspect - height) / 2
    return x0, x1, y0 - grow, y1 + grow


def label_positions(xy: np.ndarray, box: Extent, *, gap: float = 0.06) -> list[str | None]:
    """Where to write a short label next to each point of xy (N, 2) so that labels neither
    overlap each other nor sit on a neighbouring point: a Plotly ``textposition`` per point
    ("top left", "bottom right", ...), or None where every place is taken (leave that label
    out; hover still names the point).

    Distances are measured as fractions of the ``box`` (x0, x1, y0, y1) sides, roughly screen
    fractions; a label is taken to sit ``gap`` away from its point, diagonally, and to need
    ``gap`` of room around it. Points are placed in order, each at the free place furthest from
    the labels and points placed before it.
    """
    x0, x1, y0, y1 = box
    scale = np.array([max(x1 - x0, 1e-12), max(y1 - y0, 1e-12)])
    pts = np.asarray(xy, dtype=np.float64)[:, :2] / scale
    places = {
        "top left": (-1, 1),
        "top right": (1, 1),
        "bottom left": (-1, -1),
        "bottom right": (1, -1),
        "middle left": (-1.4, 0),
        "middle right": (1.4, 0),
    }
    taken: list[np.ndarray] = []
    out: list[str | None] = []
    for i, p in enumerate(pts):
        if not np.all(np.isfinite(p)):
            out.append(None)
            continue
        others = [q for j, q in enumerate(pts) if j != i and np.all(np.isfinite(q))]
        best, best_room = None, -1.0
        for name, (dx, dy) in places.items():
            spot = p + gap * np.array([dx, dy * 0.8])
            near = [*taken, *others]
            room = min((float(np.linalg.norm(spot - q)) for q in near), default=np.inf)
            if room > best_room:
                best, best_room = (name, spot), room
        if best is None or best_room < gap:
            out.append(None)
            continue
        out.append(best[0])
        taken.append(best[1])
    return out


SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def scientific(value: float) -> str:
    """A positive number for a label, two significant digits: "0.42", "3.5", "40", or with a
    power of ten outside 0.01 … 1000: "4.1·10⁻³"."""
    if value == 0 or not np.isfinite(value):
        return f"{value:g}"
    exponent = int(np.floor(np.log10(abs(value))))
    if -2 <= exponent <= 2:
        return f"{value:.2g}"
    mantissa = value / 10.0**exponent
    if round(mantissa, 1) >= 10:
        mantissa, exponent = mantissa / 10, exponent + 1
    return f"{mantissa:.1f}·10{str(exponent).translate(SUPERSCRIPTS)}".replace("-", "−", 1)


def points_box(points: np.ndarray) -> Extent:
    """The tight box (x0, x1, y0, y1) of the finite points (..., 2); (-1.5, 1.5, -1.5, 1.5) if
    there are none."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    finite = pts[np.isfinite(pts).all(axis=-1)]
    if not len(finite):
        return (-1.5, 1.5, -1.5, 1.5)
    low, high = finite.min(axis=0), finite.max(axis=0)
    return (float(low[0]), float(high[0]), float(low[1]), float(high[1]))


def legend_key(
    fig: go.Figure,
    name: str,
    marker: dict[str, Any] | None = None,
    *,
    line: dict[str, Any] | None = None,
    color: str = INK,
    row: int | None = None,
    col: int | None = None,
    **extra: Any,
) -> go.Figure:
    """A legend entry with no data, drawn in one ``color`` (ink), for marks that carry every
    class's colour: the colours say the class, the key says what the mark is. A ``marker`` key
    shows markers, a ``line`` key a line; ``extra`` goes to the trace (legendgroup, opacity, …)."""
    trace: dict[str, Any] = {"x": [None], "y": [None], "name": name, "hoverinfo": "skip"}
    if line is not None:
        trace.update(mode="lines", line={**line, "color": color})
    else:
        trace.update(mode="markers", marker={**(marker or {}), "color": color})
    fig.add_trace(go.Scatter(**trace, **extra), row=row, col=col)
    return fig


def styled_series(
    x: np.ndarray, y: np.ndarray, name: str, style: dict[str, str], marker_size: int, hover: str
) -> go.Scatter:
    """Lines and markers of y (K,) against x (K,) in a line ``style`` ({"color", "dash"}, e.g.
    ``SPLIT_STYLE["test"]``) of width 2.5; ``hover`` is the hovertemplate."""
    return go.Scatter(
        x=f32(x),
        y=f32(y),
        mode="lines+markers",
        name=name,
        line={"color": style["color"], "dash": style["dash"], "width": 2.5},
        marker={"size": marker_size},
        hovertemplate=hover,
    )


def level_line(x: np.ndarray, value: float, **trace: Any) -> go.Scatter:
    """A horizontal line at ``value`` across the range of x (K,) (no points if x is empty);
    ``trace`` (name, line, hover) goes to the ``go.Scatter``."""
    x = np.asarray(x, dtype=np.float64)
    return go.Scatter(
        x=f32([x.min(), x.max()]) if len(x) else [],
        y=f32([value, value]),
        mode="lines",
        **trace,
    )


def keyed_markers(
    fig: go.Figure,
    xy: np.ndarray,
    name: str,
    marker: dict[str, Any],
    colors: Any,
    hovertemplate: str,
    *,
    key_color: str = INK,
) -> go.Figure:
    """Points xy (N, 2) as markers of ``marker``'s shape in per-point ``colors`` (N,), kept out
    of the legend, plus their ``legend_key`` in ``key_color``: the markers carry every class's
    colour, the key shows only their shape (and toggles them: one legend group).

    Up to SVG_MARKERS points are SVG, so that SVG traces added later (arrows) draw above them;
    more are WebGL, which Plotly always draws above every SVG trace.
    """
    scatter = go.Scatter if len(xy) <= SVG_MARKERS else go.Scattergl
    fig.add_trace(
        scatter(
            x=f32(xy[:, 0]),
            y=f32(xy[:, 1]),
            mode="markers",
            name=name,
            legendgroup=name,
            showlegend=False,
            marker={**marker, "color": colors},
            hovertemplate=hovertemplate,
        )
    )
    return legend_key(fig, name, marker, color=key_color, legendgroup=name)


# Where a ``paper_note`` goes: its point in paper coordinates and how the text hangs from it.
NOTE_PLACES: dict[str, dict[str, Any]] = {
    "centre": {"x": 0.5, "y": 0.5},
    "above left": {"x": 0.0, "y": 1.0, "xanchor": "left", "yanchor": "bottom", "align": "left"},
    "above right": {"x": 1.0, "y": 1.0, "xanchor": "right", "yanchor": "bottom"},
    "top right": {"x": 1.0, "y": 1.0, "xanchor": "right", "yanchor": "top", "align": "right"},
}


def paper_note(
    fig: go.Figure, text: str, where: str, *, size: int, color: str, **extra: Any
) -> go.Figure:
    """Write ``text`` at one of the ``NOTE_PLACES`` (paper coordinates, 0 to 1 across the plot
    area), no arrow, in font ``size`` and ``color``; ``extra`` (e.g. yshift) goes to the
    annotation."""
    fig.add_annotation(
        text=text,
        xref="paper",
        yref="paper",
        showarrow=False,
        font={"size": size, "color": color},
        **NOTE_PLACES[where],
        **extra,
    )
    return fig


def note_above(fig: go.Figure, text: str, *, big: bool, lines: int = 1) -> go.Figure:
    """Write ``text`` (``lines`` lines, joined by "<br>") above the legend, and make room for it
    in the top margin; call after ``base_layout``."""
    size = fonts(big)["base"]
    fig.update_layout(margin={"t": fig.layout.margin.t + round((0.4 + 1.4 * lines) * size)})
    return paper_note(fig, text, "above left", size=size, color=INK, yshift=round(1.6 * size))
