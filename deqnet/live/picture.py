"""What the live panel draws of a model: its decision grid and, less often, a few paths.

A picture is made on the trainer thread right after a step (the weights cannot change under
it), from the model's own ``decision_grid`` and ``trajectory``, or for several models of one
stacked group at once (:func:`stacked_grids`: one batched evaluation instead of one per model,
which is what lets a class of thirty get pictures several times a second).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from deqnet.analysis.grids import (
    DecisionGrid,
    Extent,
    decision_grid,
    grid_points,
    grid_values,
    plot_extent,
)
from deqnet.analysis.paths import Trajectory, trajectory
from deqnet.analysis.strip import DepthStrip, depth_strip
from deqnet.datasets import Dataset
from deqnet.figures.style import output_range, target_bands
from deqnet.models.base import DeqModel, SolverFailure
from deqnet.models.stack import Stack

# The boundary's grid: finer while paused (drawn once), coarser while training (drawn up to
# display rate; the browser smooths the image), and coarser still in a class, where one
# stacked evaluation draws every session (36 x 36 costs half of 50 x 50). Paths of this many
# training points.
GRID_POINTS = 100
LIVE_GRID_POINTS = 50
CLASS_GRID_POINTS = 36
CLASS_SIZE = 8  # more sessions training than this: a class
PREVIEW_POINTS = 64


@dataclass(frozen=True)
class Picture:
    """A model drawn at one moment of its training.

    Attributes:
        serial: the ``Trainer.serial`` of the training it shows.
        step: training steps done when it was made.
        extent: the plotted box (x0, x1, y0, y1).
        grid: the decision grid on ``extent`` (probs (n, n, C)), or None if the solver failed.
        paths: paths of the first ``PREVIEW_POINTS`` training points (None: not made this
            time, or the solver failed).
        labels: the classes of those points, (PREVIEW_POINTS,) (regression: their targets'
            colour bands, ``target_bands``).
        strip: the same points and a square grid at five depths (``depth_strip``), made with
            the paths (at their slower pace), else None.
        value_range: regression: the fixed colour range (lo, hi) of the output
            (``output_range`` of the targets); None for classification.
    """

    serial: int
    step: int
    extent: Extent
    grid: DecisionGrid | None
    paths: Trajectory | None
    labels: np.ndarray
    strip: DepthStrip | None = None
    value_range: tuple[float, float] | None = None


def make_picture(
    model: DeqModel,
    data: Dataset,
    *,
    serial: int,
    step: int,
    n: int,
    paths: bool = True,
    grid: DecisionGrid | None = None,
) -> Picture:
    """``model`` drawn on an n x n grid of ``plot_extent(data)`` (and its preview paths and
    depth strip); ``grid``: that decision grid, already computed (``stacked_grids``)."""
    extent = plot_extent(data)
    strip = None
    try:
        if grid is None:
            grid = decision_grid(model, extent, n=n)
        preview = data.x_train[:PREVIEW_POINTS]
        traj = trajectory(model, preview) if paths else None
        strip = depth_strip(model, preview, extent) if paths else None
    except SolverFailure:
        grid = traj = strip = None
    labels = np.asarray(data.y_train[:PREVIEW_POINTS])
    value_range = output_range(data.y_all) if data.task == "regression" else None
    if value_range is not None:
        labels = target_bands(labels, value_range)
    return Picture(serial, step, extent, grid, traj, labels, strip, value_range)


def stacked_grids(
    models: Sequence[DeqModel], extents: Sequence[Extent], n: int
) -> list[DecisionGrid]:
    """``decision_grid(models[m], extents[m], n)`` of each model, as one batched evaluation.

    The models must share a stack (one live group) and use a fixed-step solver or
    layers. Equal to the lone grids to float rounding (tests/test_live_trainer.py).
    """
    stack = Stack(models, leaves=False)
    axes = [grid_points(extent, n) for extent in extents]
    x = torch.as_tensor(np.stack([points for _, _, points in axes]), dtype=stack.dtype)
    with torch.no_grad():
        logits = stack.logits(x)
        probs = grid_values(logits).numpy()
    return [
        DecisionGrid(xs=xs, ys=ys, probs=probs[m].reshape(n, n, -1))
        for m, (xs, ys, _) in enumerate(axes)
    ]


def live_grid_points(training: int) -> int:
    """The side of the live grid while ``training`` sessions train on the server."""
    return LIVE_GRID_POINTS if training <= CLASS_SIZE else CLASS_GRID_POINTS


__all__ = [
    "CLASS_GRID_POINTS",
    "GRID_POINTS",
    "LIVE_GRID_POINTS",
    "PREVIEW_POINTS",
    "Picture",
    "make_picture",
    "live_grid_points",
    "stacked_grids",
]
