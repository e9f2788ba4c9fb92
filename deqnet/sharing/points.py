"""Drawn points in a link: a compact, versioned text codec (the ``pts`` link parameter).

A drawn set is at most ``MAX_LINK_POINTS`` points with coordinates on the 0.01 grid within
``±COORD_LIMIT`` and 2..5 classes. Its text is base64url (no padding) of these bytes:

====== ============================ ==================================================
bytes  what                         values
====== ============================ ==================================================
1      format version               1
1      number of classes K          2..5
2      number of points n           uint16, little-endian, 0..MAX_LINK_POINTS
4 n    coordinates                  int16 pairs (x1, x2) in hundredths, little-endian
⌈bn/8⌉ classes                      b = bits of K - 1 per point, least significant first
====== ============================ ==================================================

Two classes cost 4.125 bytes a point (5.5 characters): 1000 points are about 5.5 kB of link.
:func:`decode_points` reads untrusted text: any other length, alphabet, version, count,
coordinate, class or padding bit raises :class:`PointsError`, one sentence for the end user.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

import numpy as np

from deqnet.datasets import MAX_CLASSES

__all__ = [
    "COORD_LIMIT",
    "MAX_LINK_CHARS",
    "MAX_LINK_POINTS",
    "POINTS_VERSION",
    "DrawnPoints",
    "PointsError",
    "decode_points",
    "encode_points",
    "on_grid",
]

POINTS_VERSION = 1
COORD_LIMIT = 10.0  # data units: far beyond every generated data set's box
SCALE = 100  # coordinates are kept in hundredths
MAX_LINK_POINTS = 1000
_HEADER = 4


def _bits(n_classes: int) -> int:
    return (n_classes - 1).bit_length()


def _size(n: int, n_classes: int) -> int:
    """Bytes of a set of ``n`` points of ``n_classes`` classes."""
    return _HEADER + 4 * n + (_bits(n_classes) * n + 7) // 8


# The longest text a valid set can have (MAX_LINK_POINTS points of MAX_CLASSES classes).
MAX_LINK_CHARS = (4 * _size(MAX_LINK_POINTS, MAX_CLASSES) + 2) // 3
_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")


class PointsError(ValueError):
    """Drawn points that cannot be encoded or decoded; the message is one sentence."""


@dataclass(frozen=True, eq=False)
class DrawnPoints:
    """A drawn set.

    Attributes:
        x: ``(n, 2)`` float32 points on the 0.01 grid within ``±COORD_LIMIT``.
        y: ``(n,)`` int64 classes in ``0 .. n_classes - 1``.
        n_classes: how many classes the drawing offers (2..5), also ones with no point yet.
    """

    x: np.ndarray
    y: np.ndarray
    n_classes: int

    def __len__(self) -> int:
        return int(self.y.shape[0])


def on_grid(x: np.ndarray) -> np.ndarray:
    """``(n, 2)`` points clipped to ``±COORD_LIMIT`` and rounded to 0.01: ``(n, 2)`` float32."""
    x = np.clip(np.asarray(x, dtype=np.float64).reshape(-1, 2), -COORD_LIMIT, COORD_LIMIT)
    return (np.round(x * SCALE) / SCALE).astype(np.float32)


def encode_points(points: DrawnPoints) -> str:
    """The link text of ``points`` (at most ``MAX_LINK_POINTS``; raises PointsError if more)."""
    n, k = len(points), int(points.n_classes)
    if n > MAX_LINK_POINTS:
        raise PointsError(f"A link carries at most {MAX_LINK_POINTS} points; this set has {n}.")
    if not 2 <= k <= MAX_CLASSES:
        raise PointsError(f"A drawn set has 2 to {MAX_CLASSES} classes, not {k}.")
    coords = np.round(np.asarray(points.x, dtype=np.float64) * SCALE)
    if coords.shape != (n, 2) or not np.all(np.abs(coords) <= COORD_LIMIT * SCALE):
        raise PointsError(f"Drawn points must lie within ±{COORD_LIMIT:g}.")
    labels = np.asarray(points.y, dtype=np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= k):
        raise PointsError(f"Drawn classes must lie in 0..{k - 1}.")
    bits = _bits(k)
    # Bit j of point i's class goes to bit i*bits + j of the class bytes, least significant first.
    unpacked = ((labels[:, None] >> np.arange(bits)) & 1).astype(np.uint8).ravel()
    raw = (
        bytes([POINTS_VERSION, k])
        + n.to_bytes(2, "little")
        + coords.astype("<i2").tobytes()
        + np.packbits(unpacked, bitorder="little").tobytes()
    )
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_points(text: object) -> DrawnPoints:
    """The points of a link's ``pts`` text; raises PointsError with the reason otherwise."""
    if not isinstance(text, str):
        raise PointsError("The drawn points are not text.")
    if len(text) > MAX_LINK_CHARS:
        raise PointsError(f"The drawn points are too long ({len(text)} characters).")
    if not _ALPHABET.fullmatch(text) or len(text) % 4 == 1:
        raise PointsError("The drawn points are not in the link format (base64url).")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if len(raw) < _HEADER:
        raise PointsError("The drawn points are cut short.")
    version, k, n = raw[0], raw[1], int.from_bytes(raw[2:4], "little")
    if version != POINTS_VERSION:
        raise PointsError(f"The drawn points have an unknown format version ({version}).")
    if not 2 <= k <= MAX_CLASSES:
        raise PointsError(f"The drawn points name {k} classes; 2 to {MAX_CLASSES} are possible.")
    if n > MAX_LINK_POINTS:
        raise PointsError(f"The link has {n} drawn points; at most {MAX_LINK_POINTS} are read.")
    if len(raw) != _size(n, k):
        raise PointsError(f"The drawn points have the wrong length for {n} points.")
    coords = np.frombuffer(raw, dtype="<i2", count=2 * n, offset=_HEADER).reshape(n, 2)
    if np.any(np.abs(coords.astype(np.int64)) > COORD_LIMIT * SCALE):
        raise PointsError(f"A drawn point lies outside ±{COORD_LIMIT:g}.")
    bits = _bits(k)
    packed = np.frombuffer(raw, dtype=np.uint8, offset=_HEADER + 4 * n)
    unpacked = np.unpackbits(packed, bitorder="little")
    if unpacked[bits * n :].any():
        raise PointsError("The drawn points end with stray bits.")
    labels = (unpacked[: bits * n].reshape(n, bits).astype(np.int64) << np.arange(bits)).sum(1)
    if labels.size and labels.max() >= k:
        raise PointsError(f"A drawn point has class {labels.max()}; the set has {k} classes.")
    return DrawnPoints((coords / SCALE).astype(np.float32), labels, k)
