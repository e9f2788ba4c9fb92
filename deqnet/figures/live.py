"""Compact updates of the live Playground charts, applied in the browser to figures built once.

The Playground's live charts are built once by the usual builders (``boundary_figure``,
``curves_figure``, ``paths_preview_figure``) and then changed in place: a browser component
(``ui/live_chart.js``) replaces the arrays named here and redraws with ``Plotly.react``, so the
charts never remount and a user's zoom survives training. The arrays come from the same
functions the builders use (``shading_arrays``, ``preview_arrays``), so an update gives exactly
the figure the builder would make for the new state, up to the wire encoding:

- an array goes out as ``{"dtype", "b64", "shape", "scale"}``: little-endian raw bytes in
  base64; the browser multiplies by ``scale``;
- probabilities in [0, 1] go out as uint8 (255 levels, error at most 1/510: a tenth of a
  heatmap cell at the contour), a quarter of float32; everything else as float32;
- training curves send only the records the browser does not have yet.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from deqnet.figures.boundary import shading_arrays
from deqnet.figures.paths import preview_arrays
from deqnet.figures.style import Extent

if TYPE_CHECKING:
    from deqnet.analysis.grids import DecisionGrid
    from deqnet.analysis.paths import Trajectory
    from deqnet.training import StepRecord

PROBABILITY_LEVELS = 255
# Curves traces in curves_figure's order: (record field, trace index).
CURVE_FIELDS = (("loss", 0), ("train_acc", 1), ("test_acc", 2))


def encode_array(values: np.ndarray, *, probability: bool = False) -> dict[str, Any]:
    """An array for the wire: uint8 levels for probabilities in [0, 1] (``probability``), the
    array's own uint8 for images, float32 otherwise (NaN kept: Plotly breaks lines there)."""
    values = np.asarray(values)
    if probability:
        raw = np.rint(np.clip(values, 0.0, 1.0) * PROBABILITY_LEVELS).astype(np.uint8)
        dtype, scale = "u1", 1.0 / PROBABILITY_LEVELS
    elif values.dtype == np.uint8:
        raw, dtype, scale = values, "u1", 1.0
    else:
        raw, dtype, scale = values.astype("<f4"), "f4", 1.0
    return {
        "dtype": dtype,
        "b64": base64.b64encode(np.ascontiguousarray(raw).tobytes()).decode("ascii"),
        "shape": list(raw.shape),
        "scale": scale,
    }


def decode_array(spec: dict[str, Any]) -> np.ndarray:
    """The inverse of ``encode_array`` (float64, scaled; uint8 images stay uint8)."""
    raw = np.frombuffer(base64.b64decode(spec["b64"]), dtype="<" + spec["dtype"])
    raw = raw.reshape(spec["shape"])
    if spec["dtype"] == "u1" and spec["scale"] == 1.0:
        return raw
    return raw.astype(np.float64) * spec["scale"]


def boundary_update(grid: DecisionGrid, discretize: bool) -> list[dict[str, Any]]:
    """Restyles {trace, attr: "z", value} for ``boundary_figure``'s shading traces."""
    arrays = shading_arrays(grid, discretize)
    two_class = np.asarray(grid.probs).shape[-1] == 2
    return [
        {"trace": i, "attr": "z", "value": encode_array(z, probability=two_class)}
        for i, z in enumerate(arrays)
    ]


def preview_update(
    traj: Trajectory, labels: np.ndarray, extent: Extent
) -> tuple[list[dict[str, Any]], dict[str, list[float]]]:
    """Restyles of every ``paths_preview_figure`` trace's x and y, and its new axis ranges
    ({"xaxis.range": [x0, x1], "yaxis.range": [y0, y1]})."""
    traces, view = preview_arrays(traj, labels, extent)
    restyles = [
        {"trace": i, "attr": attr, "value": encode_array(values)}
        for i, (x, y) in enumerate(traces)
        for attr, values in (("x", x), ("y", y))
    ]
    x0, x1, y0, y1 = (float(v) for v in view)
    return restyles, {"xaxis.range": [x0, x1], "yaxis.range": [y0, y1]}


def curves_extension(history: Sequence[StepRecord], start: int) -> dict[str, Any]:
    """The records ``history[start:]`` as additions to ``curves_figure``'s three traces:
    {"from": start, "count", "traces": [0, 1, 2], "x": step array, "y": [loss, train, test]}.

    ``from`` lets the browser check it has exactly the first ``start`` records.
    """
    new = history[start:]
    steps = np.array([r.step for r in new], dtype=np.float32)
    columns = [
        np.array([getattr(r, name) for r in new], dtype=np.float32) for name, _ in CURVE_FIELDS
    ]
    return {
        "from": start,
        "count": len(new),
        "traces": [trace for _, trace in CURVE_FIELDS],
        "x": encode_array(steps),
        "y": [encode_array(c) for c in columns],
    }


__all__ = [
    "CURVE_FIELDS",
    "boundary_update",
    "curves_extension",
    "decode_array",
    "encode_array",
    "preview_update",
]
