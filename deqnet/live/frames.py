"""The live stream's wire format: one binary message per frame, decoded in the browser with
typed-array views (``ui/live_panel.js``) and in tests with :func:`decode_frame`.

Layout (all little-endian)::

    [u32 n][n bytes of UTF-8 JSON header][zero padding to a multiple of 8][arrays, each padded]

The header is a JSON object with the frame's small values (step, metrics, status) and
``"arrays"``: a list of ``{"name", "dtype", "shape", "offset"}``, ``offset`` counted from the
end of the padded header and a multiple of 8, so that the browser can view each array in place
(``new Float32Array(buffer, offset, size)``) without copying. Only the dtypes ``u1`` (uint8)
and ``f4`` (float32) are used: probabilities go out as uint8 levels (1/255 steps, a tenth of a
grid cell at the contour), coordinates and curves as float32. No base64, no JSON per number.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from deqnet.figures.boundary import shading_arrays
from deqnet.figures.paths import preview_arrays
from deqnet.live.status import metric_texts, status_text

if TYPE_CHECKING:
    from deqnet.live.mailbox import Update
    from deqnet.live.picture import Picture

VERSION = 1
DTYPES = {"u1": np.dtype("u1"), "f4": np.dtype("<f4")}
ALIGN = 8
# A frame whose header says more than this is refused by decode_frame (a corrupt length field).
MAX_HEADER_BYTES = 1 << 20


def _padded(size: int) -> int:
    return -(-size // ALIGN) * ALIGN


def encode_frame(header: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> bytes:
    """One message: ``header`` (JSON-serialisable, without an "arrays" key) and the arrays.

    Each array must be uint8 or float32 (any shape); it is written C-contiguous, little-endian.
    """
    table, blobs, offset = [], [], 0
    for name, values in arrays.items():
        values = np.asarray(values)
        code = next((c for c, d in DTYPES.items() if values.dtype == d), None)
        if code is None:
            raise TypeError(f"array {name!r}: dtype {values.dtype} is not uint8 or float32")
        blob = np.ascontiguousarray(values, dtype=DTYPES[code]).tobytes()
        table.append({"name": name, "dtype": code, "shape": list(values.shape), "offset": offset})
        blobs.append(blob)
        offset = _padded(offset + len(blob))
    raw = json.dumps({**header, "arrays": table}, separators=(",", ":"), allow_nan=False).encode()
    start = _padded(4 + len(raw))
    out = bytearray(start + offset)
    out[:4] = struct.pack("<I", len(raw))
    out[4 : 4 + len(raw)] = raw
    for entry, blob in zip(table, blobs, strict=True):
        at = start + entry["offset"]
        out[at : at + len(blob)] = blob
    return bytes(out)


def decode_frame(message: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The header and the arrays (read-only views into ``message``) of one message.

    Raises ValueError for a message that is not a well-formed frame.
    """
    if len(message) < 4:
        raise ValueError("frame shorter than its length field")
    (n,) = struct.unpack_from("<I", message)
    if n > MAX_HEADER_BYTES or 4 + n > len(message):
        raise ValueError("frame header length out of range")
    header = json.loads(bytes(message[4 : 4 + n]))
    start = _padded(4 + n)
    arrays = {}
    for entry in header.pop("arrays"):
        dtype = DTYPES[entry["dtype"]]
        count = int(np.prod(entry["shape"], dtype=np.int64))
        at = start + int(entry["offset"])
        if entry["offset"] % ALIGN or at + count * dtype.itemsize > len(message):
            raise ValueError(f"array {entry['name']!r} lies outside the frame")
        flat = np.frombuffer(message, dtype=dtype, count=count, offset=at)
        arrays[entry["name"]] = flat.reshape(entry["shape"])
    return header, arrays


def probability_levels(p: np.ndarray) -> np.ndarray:
    """Probabilities in [0, 1] as uint8 levels 0..255 (the browser divides by 255)."""
    return np.rint(np.clip(np.nan_to_num(np.asarray(p, dtype=np.float64)), 0, 1) * 255).astype(
        np.uint8
    )


def encode_update(update: Update, *, discretize: bool) -> bytes:
    """One frame of a mailbox's update (``discretize``: the watcher's view flag).

    Header: ``v``, ``serial``, ``step`` (records so far), ``running``, ``stopped``, ``budget``,
    ``message``, ``metrics`` and ``status`` (the texts of ``deqnet.live.status``), ``curves``
    ({reset, from, count}: arrays ``curve_step``, ``curve_loss``, ``curve_train``,
    ``curve_test``), and with a picture ``grid`` ({step, serial, x0, dx, y0, dy, rows, cols,
    kind}: kind "heatmap" sends the shading ``z`` and the ``contour``'s P(class 1) as uint8
    levels (regression: ``z`` alone, the output mapped to [0, 1] over the picture's fixed
    ``value_range``), "image" an RGB ``image``), ``preview`` ({range, traces}: arrays ``path_x<i>``,
    ``path_y<i>`` per trace of ``paths_preview_figure``) and ``strip`` ({times, layers, boxes,
    lines}: arrays ``strip_points`` (K, P, 2), ``strip_labels`` (P,), ``strip_grid`` (K, G, Q,
    2), the depth strip's K panels).
    """
    history = update.history
    done = len(history)
    records = update.records
    header: dict[str, Any] = {
        "v": VERSION,
        "serial": update.serial,
        "step": done,
        "running": update.running,
        "stopped": update.stopped,
        "budget": update.budget,
        "message": update.message,
        "metrics": metric_texts(history, update.budget, update.task),
        "status": status_text(
            done, update.budget, running=update.running, diverged=bool(update.message)
        ),
        "curves": {"reset": update.reset, "from": update.start, "count": len(records)},
    }
    arrays: dict[str, np.ndarray] = {}
    if records:
        columns = np.array(
            [(r.step, r.loss, r.train_acc, r.test_acc) for r in records], dtype=np.float64
        )
        columns[~np.isfinite(columns)] = np.nan
        for j, name in enumerate(("curve_step", "curve_loss", "curve_train", "curve_test")):
            arrays[name] = columns[:, j].astype("<f4")
    if update.picture is not None:
        _picture_arrays(update.picture, discretize, header, arrays)
    return encode_frame(header, arrays)


def _picture_arrays(
    picture: Picture, discretize: bool, header: dict[str, Any], arrays: dict[str, np.ndarray]
) -> None:
    """Add a picture's grid (and preview paths, when it has them) to a frame."""
    grid = picture.grid
    if grid is None:
        return
    xs, ys = np.asarray(grid.xs, dtype=np.float64), np.asarray(grid.ys, dtype=np.float64)
    shading = shading_arrays(grid, discretize, picture.value_range)
    kind = "image" if shading[0].ndim == 3 else "heatmap"
    header["grid"] = {
        "serial": picture.serial,
        "step": picture.step,
        "kind": kind,
        "x0": float(xs[0]),
        "dx": float(xs[1] - xs[0]) if len(xs) > 1 else 1.0,
        "y0": float(ys[0]),
        "dy": float(ys[1] - ys[0]) if len(ys) > 1 else 1.0,
        "rows": len(ys),
        "cols": len(xs),
    }
    if kind == "heatmap":
        arrays["z"] = probability_levels(shading[0])
        if len(shading) == 2:  # regression's output has no contour
            arrays["contour"] = probability_levels(shading[1])
    else:
        arrays["image"] = shading[0]
    if picture.strip is not None:
        header["strip"], strip_arrays = strip_payload(picture)
        arrays.update(strip_arrays)
    if picture.paths is not None:
        traces, view = preview_arrays(picture.paths, picture.labels, picture.extent)
        header["preview"] = {"range": [float(v) for v in view], "traces": len(traces)}
        for i, (x, y) in enumerate(traces):
            arrays[f"path_x{i}"] = np.asarray(x, dtype="<f4")
            arrays[f"path_y{i}"] = np.asarray(y, dtype="<f4")


def strip_payload(picture: Picture) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The depth strip of a picture (which must have one) as a frame's ``strip`` header
    ({times, layers, boxes, lines}) and its arrays: ``strip_points`` (K, P, 2) float32,
    ``strip_labels`` (P,) uint8, ``strip_grid`` (K, G, Q, 2) float32."""
    strip = picture.strip
    panels = len(strip.times)
    both = np.concatenate([strip.points, strip.grid.reshape(panels, -1, 2)], axis=1)
    header = {
        "times": [float(t) for t in strip.times],
        "layers": None if strip.layers is None else list(strip.layers),
        "boxes": [list(_panel_box(both[k])) for k in range(panels)],
        "lines": int(strip.grid.shape[1]),
    }
    arrays = {
        "strip_points": np.asarray(strip.points, dtype="<f4"),
        "strip_labels": np.asarray(picture.labels, dtype=np.uint8),
        "strip_grid": np.asarray(strip.grid, dtype="<f4"),
    }
    return header, arrays


def _panel_box(points: np.ndarray) -> tuple[float, float, float, float]:
    """A square-ish box (x0, x1, y0, y1) around a panel's points: their 2-98 % quantiles (a
    runaway point does not shrink the rest to a dot), 8 % margin, never thinner than 1e-3."""
    finite = points[np.isfinite(points).all(axis=1)]
    if len(finite) == 0:
        return (-1.0, 1.0, -1.0, 1.0)
    low, high = np.quantile(finite, 0.02, axis=0), np.quantile(finite, 0.98, axis=0)
    centre, half = (low + high) / 2, np.maximum((high - low) / 2 * 1.08, 1e-3)
    return (
        float(centre[0] - half[0]),
        float(centre[0] + half[0]),
        float(centre[1] - half[1]),
        float(centre[1] + half[1]),
    )


__all__ = [
    "decode_frame",
    "encode_frame",
    "encode_update",
    "probability_levels",
    "strip_payload",
]
