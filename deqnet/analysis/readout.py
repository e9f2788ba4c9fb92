"""The readout direction: where the final features sit along the line the classifier reads.

The readout is linear, logits = W x(T) + b with W (C, D). Only differences of logits matter to
the softmax, so the classifier reads x(T) through the rows of W minus their mean; the leading
right-singular vector of that centred matrix is the one direction along which it tells the
classes apart best (for C = 2 it is ±(W_1 − W_0)/|W_1 − W_0| exactly). The slides' 3-D example
shows the final features lying along that line, ordered by class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deqnet.models.base import DeqModel


@dataclass(frozen=True, eq=False)
class ReadoutLine:
    """Final features projected on the readout direction.

    Attributes:
        direction: (D,) unit vector, oriented so that the class means increase with the class on
            average (class 0 lowest).
        position: (N,) coordinate of each point along the direction, s = direction · x(T).
        labels: (N,) int class of each point.
        class_means: (C,) mean position of each class (NaN for a class with no points).
        boundary: the position where the two logits are equal (C = 2 only, else None).
    """

    direction: np.ndarray
    position: np.ndarray
    labels: np.ndarray
    class_means: np.ndarray
    boundary: float | None

    @property
    def order(self) -> np.ndarray:
        """(C,) classes sorted by mean position (classes with no points last)."""
        return np.argsort(np.where(np.isnan(self.class_means), np.inf, self.class_means))


def readout_direction(model: DeqModel) -> np.ndarray:
    """(D,) unit vector the readout reads the classes along (sign not yet oriented)."""
    weight = model.readout.weight.detach().double().cpu().numpy()
    centred = weight - weight.mean(axis=0, keepdims=True)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return vt[0]


def readout_line(model: DeqModel, x_final: np.ndarray, labels: np.ndarray) -> ReadoutLine:
    """Project final states x(T) (N, D) on the readout direction; labels (N,)."""
    x_final = np.asarray(x_final, dtype=np.float64)
    labels = np.asarray(labels).astype(np.int64)
    direction = readout_direction(model)
    n_classes = model.readout.weight.shape[0]
    means = _class_means(x_final @ direction, labels, n_classes)
    # Orient: class index and mean position correlate positively, so class 0 sits left.
    present = np.flatnonzero(~np.isnan(means))
    if np.sum((present - present.mean()) * means[present]) < 0:
        direction = -direction
        means = -means
    position = x_final @ direction
    return ReadoutLine(direction, position, labels, means, _boundary(model, direction))


def _class_means(position: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    means = np.full(n_classes, np.nan)
    for k in range(n_classes):
        if np.any(labels == k):
            means[k] = position[labels == k].mean()
    return means


def _boundary(model: DeqModel, direction: np.ndarray) -> float | None:
    """For C = 2 the logits are equal where (W_1 − W_0)·x + (b_1 − b_0) = 0; along the unit
    direction ±(W_1 − W_0)/|W_1 − W_0| that is one position."""
    weight = model.readout.weight.detach().double().cpu().numpy()
    if weight.shape[0] != 2:
        return None
    bias = model.readout.bias.detach().double().cpu().numpy()
    difference = weight[1] - weight[0]
    norm = float(np.linalg.norm(difference))
    if norm == 0.0:
        return None
    sign = float(np.sign(difference @ direction))
    return -sign * float(bias[1] - bias[0]) / norm
