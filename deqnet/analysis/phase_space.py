"""Momentum where the pictures need it: at the times H = a·F is exact, per weight segment, and
for the points a page follows or samples (on top of ``deqnet.analysis.adjoint.momentum``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from deqnet.analysis.adjoint import Momentum, momentum
from deqnet.analysis.flow import sample_rows
from deqnet.datasets import Dataset
from deqnet.models import DeqModel


def exact_times(model: DeqModel) -> np.ndarray | None:
    """(K,) the fixed-step solver's own grid, else None (``momentum``'s default times).

    Between grid times a fixed-step solution is a linear interpolation, which is not a path of
    Hamilton's equations: H there would show an interpolation error, not the model's. The
    polygon through the grid states is the very same picture as the interpolated path.
    """
    cfg = model.config
    if cfg.discrete or cfg.adaptive:
        return None
    return model.solver_grid().numpy()


def segments_at(model: DeqModel, t: np.ndarray) -> np.ndarray:
    """(K,) the weight segment in use at each time of t (K,) (``DeqModel.segment_at``)."""
    return np.array([model.segment_at(float(v)) for v in t], dtype=np.int64)


def segment_bounds(model: DeqModel) -> np.ndarray | None:
    """(K + 1,) the times from 0 to T between which the weights stay the same, or None when
    they are the same at every depth (one segment)."""
    cfg = model.config
    if cfg.n_segments == 1:
        return None
    return np.linspace(0.0, cfg.T, cfg.n_segments + 1)


def rows_momentum(
    model: DeqModel, data: Dataset, rows: Sequence[int], loss: str = "cross_entropy"
) -> Momentum:
    """Momentum of the training points ``rows`` (N,), at :func:`exact_times`.

    Raises SolverFailure if the solver gives up.
    """
    index = np.asarray(rows, dtype=np.int64)
    return momentum(
        model, data.x_train[index], data.y_train[index], times=exact_times(model), loss=loss
    )


def sample_momentum(
    model: DeqModel, data: Dataset, points: int, seed: int = 0, loss: str = "cross_entropy"
) -> tuple[Momentum, np.ndarray]:
    """Momentum (at the default times) of every training point, or of a random sample of
    ``points`` of them fixed by ``seed`` (kept in row order), and their (N,) labels.

    Raises SolverFailure if the solver gives up.
    """
    rows = np.arange(len(data.x_train))
    if len(rows) > points:
        rows = np.sort(sample_rows(len(rows), points, seed))
    return momentum(model, data.x_train[rows], data.y_train[rows], loss=loss), data.y_train[rows]


__all__ = ["exact_times", "rows_momentum", "sample_momentum", "segment_bounds", "segments_at"]
