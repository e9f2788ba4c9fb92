"""The training loss and the score, one definition each for a model or a batch of models.

Logits hold the outputs along ``dim`` (default the last): (N, C) for one model, (M, N, C) for
M models trained together (``deqnet.sweep``); labels have the logits' shape without ``dim``.

The labels' dtype names the task: integer class labels (classification, C = n_classes
outputs) or real targets (regression, C = 1 output). For regression the loss is always the
squared error (output - target)^2, whatever ``loss`` names (a classification setting), and the
score is R² instead of accuracy.
"""

from __future__ import annotations

import torch
from torch import nn

from deqnet.config import LOSSES


def as_labels(y: object, dtype: torch.dtype) -> torch.Tensor:
    """Labels (N,) as a tensor: class labels as int64, real targets (any float array) in
    ``dtype``, the model's; the dtype is what tells the loss and the score the task."""
    y = torch.as_tensor(y)
    return y.to(dtype) if y.is_floating_point() else y.long()


def loss_per_point(logits: torch.Tensor, y: torch.Tensor, loss: str, dim: int = -1) -> torch.Tensor:
    """Loss of each point, shaped like ``y``: (N,) from logits (N, C), (M, N) from (M, N, C).

    Classification: "cross_entropy" is -log softmax_y; "mse" is |softmax - onehot(y)|^2.
    Regression (real ``y``, C = 1): (output - y)^2. Its mean over the points is the training
    loss (:func:`mean_loss`).
    """
    if loss not in LOSSES:
        raise ValueError(f"loss={loss!r} is not allowed; choose one of {', '.join(LOSSES)}")
    logits = logits.movedim(dim, -1)
    if y.is_floating_point():
        return (logits[..., 0] - y) ** 2
    if loss == "cross_entropy":
        # cross_entropy wants the classes at dim 1: (N, C) as it is, (M, N, C) as (M, C, N).
        return nn.functional.cross_entropy(logits.movedim(-1, 1), y, reduction="none")
    target = nn.functional.one_hot(y, logits.shape[-1]).to(logits.dtype)
    return ((logits.softmax(dim=-1) - target) ** 2).sum(dim=-1)


def mean_loss(logits: torch.Tensor, y: torch.Tensor, loss: str, dim: int = -1) -> torch.Tensor:
    """The training loss: mean of :func:`loss_per_point` over the points (the last axis of y),
    0-d for one model, (M,) for M models."""
    return loss_per_point(logits, y, loss, dim).mean(dim=-1)


def accuracy(logits: torch.Tensor, y: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Fraction of points whose most likely class is their label, in float64: 0-d for logits
    (N, C), (M,) for (M, N, C). A point with a non-finite logit counts as wrong."""
    # max(...).indices is argmax (the first maximum; NaN counts as the maximum), but fast along
    # a strided dim: the batched engine's logits (M, N, C) are a view of (M, C, N), and argmax
    # over it took 1.2 ms for M = 16, N = 512 against 0.03 ms.
    right = (logits.max(dim=dim).indices == y) & torch.isfinite(logits).all(dim=dim)
    return right.to(torch.float64).mean(dim=-1)


def r_squared(logits: torch.Tensor, y: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """R² = 1 - Σ(y - ŷ)² / Σ(y - ȳ)² of outputs ŷ (logits (N, 1) or (M, N, 1)) against real
    targets y (N,) or (M, N), in float64: 0-d or (M,). 1 is a perfect fit, 0 is no better than
    predicting the mean, below 0 worse; constant targets give -inf or NaN (0/0)."""
    out = logits.movedim(dim, -1)[..., 0].to(torch.float64)
    y = y.to(torch.float64)
    residual = ((y - out) ** 2).sum(dim=-1)
    spread = ((y - y.mean(dim=-1, keepdim=True)) ** 2).sum(dim=-1)
    return 1.0 - residual / spread


def score(logits: torch.Tensor, y: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """The metric shown beside the loss: :func:`accuracy` for class labels, :func:`r_squared`
    for real targets (regression); float64, 0-d or (M,)."""
    if y.is_floating_point():
        return r_squared(logits, y, dim)
    return accuracy(logits, y, dim)
