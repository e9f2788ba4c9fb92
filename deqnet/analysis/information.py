"""Mutual information between the label and the hidden state, at a finite resolution (notes §3.5).

The flow is invertible, so I(y; x(t)) of the exact (continuous) state cannot change with depth;
what learning changes is the information left after coarse graining. Here the state is coarse
grained by ``bins`` equal-width bins per coordinate over the bounding box of the sample, and I is
the plug-in estimate from the counts of (cell, label):

    I = Σ_{c,y} p(c, y) log₂ [p(c, y) / (p(c) p(y))] = H(y) − H(y | cell)   (bits).

It is biased upwards by about (cells − 1)(classes − 1) / (2 N ln 2) bits when y and x are
independent (Miller–Madow); at a resolution fine enough that every point has a cell of its own it
equals H(y). Import from ``deqnet.analysis.information``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from deqnet.analysis.paths import trajectory
from deqnet.models.base import DeqModel


def entropy_bits(y: np.ndarray) -> float:
    """Plug-in entropy H(y) in bits of labels y (N,) (any hashable values)."""
    _, counts = np.unique(np.asarray(y), return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def bin_cells(x: np.ndarray, bins: int) -> np.ndarray:
    """Cell index (N,) int64 of each point of x (N, D): ``bins`` equal-width bins per coordinate
    over the bounding box of x; the top edge belongs to the last bin, and a coordinate with no
    spread puts every point in bin 0. Cells are numbered by first appearance."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or not np.isfinite(x).all():
        raise ValueError(f"x must be a finite (N, D) array, got shape {x.shape}")
    if int(bins) < 1:
        raise ValueError(f"bins must be at least 1, got {bins!r}")
    low, high = x.min(axis=0), x.max(axis=0)
    width = np.where(high > low, high - low, 1.0)
    index = np.floor((x - low) / width * bins).astype(np.int64)
    index = np.clip(index, 0, int(bins) - 1)
    _, cells = np.unique(index, axis=0, return_inverse=True)
    return cells.reshape(-1)


def mutual_information(x: np.ndarray, y: np.ndarray, bins: int) -> float:
    """Plug-in I(y; x) in bits, x (N, D) coarse grained by ``bins`` bins per coordinate (see the
    module docstring), labels y (N,)."""
    y = np.asarray(y)
    cells = bin_cells(x, bins)
    if len(y) != len(cells):
        raise ValueError(f"x has {len(cells)} rows but y has {len(y)} labels")
    _, labels = np.unique(y, return_inverse=True)
    joint = np.unique(np.stack([cells, labels.reshape(-1)], axis=1), axis=0, return_counts=True)
    (pairs, counts), n = joint, len(y)
    p_joint = counts / n
    p_cell = np.bincount(cells, minlength=cells.max() + 1)[pairs[:, 0]] / n
    p_label = np.bincount(labels.reshape(-1))[pairs[:, 1]] / n
    # Never negative in exact arithmetic; clip the last-bit rounding of a zero estimate.
    return float(max((p_joint * np.log2(p_joint / (p_cell * p_label))).sum(), 0.0))


def information_along_depth(
    states: np.ndarray, y: np.ndarray, bins_list: Sequence[int]
) -> np.ndarray:
    """I(y; x_k) in bits (len(bins_list), K) of states (K, N, D) at K depths, labels y (N,).

    Each depth is binned over its own bounding box: the estimate does not change under a
    per-coordinate affine map of the states, only under a change of shape.
    """
    states = np.asarray(states)
    return np.array(
        [[mutual_information(x_k, y, bins) for x_k in states] for bins in bins_list],
        dtype=np.float64,
    )


# Coarse to fine: a 2×2 grid of cells (does the state fall on the class's side?), a 4×4 grid, and
# a grid fine enough that almost every training point has a cell of its own at the start.
PANEL_BINS = (2, 4, 64)
PANEL_DEPTHS = 11


@dataclass(frozen=True, eq=False)
class DepthInformation:
    """I(y; x(t)) at a few depths and resolutions for one model and one set of points.

    Attributes:
        t: (K,) depths, 0 … T (discrete models: layer times l·Δt).
        information: (len(bins), K) bits, the plug-in estimate at each resolution.
        bins: bins per coordinate of each row, coarse to fine.
        h_y: H(y) in bits, the ceiling of every row.
    """

    t: np.ndarray
    information: np.ndarray
    bins: tuple[int, ...]
    h_y: float


def depth_information(
    model: DeqModel,
    x: np.ndarray,
    y: np.ndarray,
    bins: Sequence[int] = PANEL_BINS,
    depths: int = PANEL_DEPTHS,
) -> DepthInformation:
    """I(y; x(t)) of inputs x (N, 2) with labels y (N,) along the model's depth, at ``depths``
    evenly spread depths (discrete models: that many layers, evenly spread, always 0 and L).
    Raises SolverFailure if the solver gives up."""
    # A continuous model is solved at those depths only; a discrete one gives all its layers.
    traj = trajectory(model, x, np.linspace(0.0, model.config.T, depths))
    keep = np.unique(np.linspace(0, len(traj.t) - 1, depths).round().astype(int))
    states = traj.x[keep]
    bins = tuple(int(b) for b in bins)
    return DepthInformation(
        t=traj.t[keep],
        information=information_along_depth(states, y, bins),
        bins=bins,
        h_y=entropy_bits(y),
    )
