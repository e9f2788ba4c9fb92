"""The depth strip: the plane at a few depths, t = 0, T/4, T/2, 3T/4, T, with points and a grid.

The live panel's answer to TensorFlow Playground's network diagram: instead of neurons, the
network's own picture of the plane as it flows through depth. A square grid over the data's box
is pushed through the flow with the points, so the panels show how the flow warps the plane.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from deqnet.analysis.grids import Extent
from deqnet.analysis.paths import lift_inputs, restore_nfe, to_numpy
from deqnet.config import ModelConfig
from deqnet.models.base import ContinuousModel, DeqModel

FRACTIONS = (0.0, 0.25, 0.5, 0.75, 1.0)  # of the depth T
GRID_LINES = 7  # per direction
POINTS_PER_LINE = 17


@dataclass(frozen=True, eq=False)
class DepthStrip:
    """The plane at a few depths.

    Attributes:
        times: (K,) float64 depths of the panels (discrete nets: the layer times l dt).
        layers: the layer of each panel (discrete nets), else None.
        points: (K, P, 2) the points' first two coordinates at each depth.
        grid: (K, G, Q, 2) G grid lines of Q points each (GRID_LINES vertical, then as many
            horizontal ones) at each depth.
    """

    times: np.ndarray
    layers: tuple[int, ...] | None
    points: np.ndarray
    grid: np.ndarray


def square_grid(extent: Extent, lines: int = GRID_LINES, q: int = POINTS_PER_LINE) -> np.ndarray:
    """Grid lines (2 lines, q, 2) over the box (x0, x1, y0, y1): vertical lines, then horizontal."""
    x0, x1, y0, y1 = extent
    along = np.linspace(0.0, 1.0, q)
    across = np.linspace(0.0, 1.0, lines)
    vertical = np.stack(
        [np.broadcast_to(x0 + (x1 - x0) * across[:, None], (lines, q)),
         np.broadcast_to(y0 + (y1 - y0) * along[None, :], (lines, q))], axis=-1
    )  # fmt: skip
    horizontal = np.stack(
        [np.broadcast_to(x0 + (x1 - x0) * along[None, :], (lines, q)),
         np.broadcast_to(y0 + (y1 - y0) * across[:, None], (lines, q))], axis=-1
    )  # fmt: skip
    return np.concatenate([vertical, horizontal]).astype(np.float32)


def strip_depths(config: ModelConfig) -> tuple[np.ndarray, tuple[int, ...] | None]:
    """The panels' depths (K,) and, for a discrete net, their layers l = round(f L)."""
    if config.continuous:
        return np.array([f * config.T for f in FRACTIONS]), None
    layers = tuple(sorted({round(f * config.layers) for f in FRACTIONS}))
    return np.array([layer * config.dt for layer in layers]), layers


def depth_strip(model: DeqModel, x: np.ndarray, extent: Extent) -> DepthStrip:
    """The points x (P, 2) and a square grid over ``extent`` at the depths ``FRACTIONS`` of T
    (discrete nets: the layers nearest to them, l = round(f L)). Raises SolverFailure if the
    solver gives up."""
    grid = square_grid(extent)
    lines, q = grid.shape[:2]
    inputs = np.concatenate([np.asarray(x, dtype=np.float32).reshape(-1, 2), grid.reshape(-1, 2)])
    x0 = lift_inputs(model, inputs)
    times, layers = strip_depths(model.config)
    with torch.no_grad(), restore_nfe(model):
        if isinstance(model, ContinuousModel):
            states = model.solve(x0, torch.from_numpy(times))
        else:
            states = model.layer_states(x0)[list(layers)]
    planes = to_numpy(model, states[..., :2]).astype(np.float32)
    n = len(inputs) - lines * q
    return DepthStrip(
        times=times,
        layers=layers,
        points=planes[:, :n],
        grid=planes[:, n:].reshape(len(times), lines, q, 2),
    )
