"""Quantities on a regular grid of the input plane: class probabilities, the vector field, and the
grid's lines carried along by the flow.

Grid convention (the one a heatmap's z uses): row i is y = ys[i], column j is x = xs[j].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from deqnet.analysis.paths import (
    check_time,
    lift_inputs,
    nearest_layer,
    restore_nfe,
    to_numpy,
    trajectory,
)
from deqnet.datasets import Dataset
from deqnet.models.base import ContinuousModel, DeqModel

Extent = tuple[float, float, float, float]

# Every plot shows at least this square, so tiny or off-centre data still has context.
MIN_HALF_WIDTH = 1.5


@dataclass(frozen=True, eq=False)
class DecisionGrid:
    """Softmax class probabilities on an n x n grid (a regression model: its output).

    Attributes:
        xs: (n,) x1 coordinates (columns).
        ys: (n,) x2 coordinates (rows).
        probs: (n, n, C); probs[i, j] is the softmax at (xs[j], ys[i]); for a model with one
            output (regression, C = 1) the output itself (:func:`grid_values`).
    """

    xs: np.ndarray
    ys: np.ndarray
    probs: np.ndarray


@dataclass(frozen=True, eq=False)
class VectorField:
    """The first two components (u, v) of the vector field at (xs[j], ys[i]), shapes (n, n)."""

    xs: np.ndarray
    ys: np.ndarray
    u: np.ndarray
    v: np.ndarray


@dataclass(frozen=True, eq=False)
class GridFlow:
    """Lines of a square grid flowed to each time.

    Attributes:
        t: (K,) float64 times.
        lines: (K, 2 * n_lines, n_points, 2); lines[:, :n_lines] start vertical (x1 constant, left
            to right), lines[:, n_lines:] start horizontal (x2 constant, bottom to top).
    """

    t: np.ndarray
    lines: np.ndarray


def plot_extent(data: Dataset | np.ndarray, margin: float = 0.25) -> Extent:
    """Box (x0, x1, y0, y1) around all points (train and test) of ``data`` (or an (N, 2) array).

    The box is square around the data's centre with half-width (1 + margin) times the larger
    half-range, then widened to contain at least [-1.5, 1.5]^2.
    """
    if isinstance(data, Dataset):
        points = np.concatenate([data.x_train, data.x_test]).astype(np.float64)
    else:
        points = np.asarray(data, dtype=np.float64).reshape(-1, 2)
    low, high = points.min(axis=0), points.max(axis=0)
    centre = (low + high) / 2
    half = (1.0 + margin) * float(np.max(high - low)) / 2
    x0, y0 = np.minimum(centre - half, -MIN_HALF_WIDTH)
    x1, y1 = np.maximum(centre + half, MIN_HALF_WIDTH)
    return float(x0), float(x1), float(y0), float(y1)


def grid_points(extent: Extent, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """xs (n,), ys (n,) and the points (n * n, 2) in row-major (i = y, j = x) order."""
    x0, x1, y0, y1 = extent
    xs, ys = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
    gx, gy = np.meshgrid(xs, ys)  # gx[i, j] = xs[j], gy[i, j] = ys[i]
    return xs, ys, np.stack([gx.ravel(), gy.ravel()], axis=1)


def grid_values(logits: torch.Tensor) -> torch.Tensor:
    """What a decision grid holds of logits (..., C): the softmax over the last axis, or for
    one output (regression; a softmax of one is always 1) the output itself."""
    return logits if logits.shape[-1] == 1 else logits.softmax(dim=-1)


def decision_grid(model: DeqModel, extent: Extent, n: int = 100) -> DecisionGrid:
    """Class probabilities (n, n, C) of the model on an n x n grid of ``extent`` (a regression
    model: its output, (n, n, 1))."""
    xs, ys, points = grid_points(extent, n)
    with torch.no_grad(), restore_nfe(model):
        probs = grid_values(model.readout(model.flow(lift_inputs(model, points))))
    return DecisionGrid(xs=xs, ys=ys, probs=to_numpy(model, probs).reshape(n, n, -1))


def layer_velocity(model: DeqModel, layer: int, x: torch.Tensor) -> torch.Tensor:
    """(x_{l+1} - x_l) / dt (N, D): a discrete layer read as a velocity."""
    return (model.step(layer, x) - x) / model.dt


def vector_field_grid(model: DeqModel, t: float, extent: Extent, n: int = 21) -> VectorField:
    """F(x, t) at the points (x1, x2, 0, ...) of an n x n grid, first two components.

    Discrete models: (x_{l+1} - x_l) / dt of the layer nearest t.
    """
    t = check_time(model, t)
    xs, ys, points = grid_points(extent, n)
    states = lift_inputs(model, points)
    with torch.no_grad(), restore_nfe(model):
        if isinstance(model, ContinuousModel):
            velocity = model.field(t, states)
        else:
            velocity = layer_velocity(model, nearest_layer(model, t), states)
    uv = to_numpy(model, velocity[:, :2]).reshape(n, n, 2)
    return VectorField(xs=xs, ys=ys, u=uv[..., 0], v=uv[..., 1])


def deformed_grid(
    model: DeqModel,
    extent: Extent,
    n_lines: int = 11,
    n_points: int = 41,
    times: np.ndarray | None = None,
) -> GridFlow:
    """The lines of an n_lines x n_lines grid of ``extent`` (n_points each) flowed to each time.

    ``times`` as in ``trajectory`` (default ``default_times``; discrete models: the layer times).
    """
    x0, x1, y0, y1 = extent
    across = np.linspace(0.0, 1.0, n_points)
    steps = np.linspace(0.0, 1.0, n_lines)
    # Vertical lines: x1 fixed at each step, x2 running along; horizontal lines the other way.
    vx = np.broadcast_to(x0 + (x1 - x0) * steps[:, None], (n_lines, n_points))
    vy = np.broadcast_to(y0 + (y1 - y0) * across[None, :], (n_lines, n_points))
    hx = np.broadcast_to(x0 + (x1 - x0) * across[None, :], (n_lines, n_points))
    hy = np.broadcast_to(y0 + (y1 - y0) * steps[:, None], (n_lines, n_points))
    start = np.concatenate([np.stack([vx, vy], -1), np.stack([hx, hy], -1)])
    traj = trajectory(model, start.reshape(-1, 2), times)
    lines = traj.x[..., :2].reshape(len(traj.t), 2 * n_lines, n_points, 2)
    return GridFlow(t=traj.t, lines=lines)
