"""The training loss and the accuracy, one definition each for a model or a batch of models.

Logits hold the classes along ``dim`` (default the last): (N, C) for one model, (M, N, C) for
M models trained together (``deqnet.sweep``); labels have the logits' shape without ``dim``.
"""

from __future__ import annotations

import torch
from torch import nn

from deqnet.config import LOSSES


def loss_per_point(logits: torch.Tensor, y: torch.Tensor, loss: str, dim: int = -1) -> torch.Tensor:
    """Loss of each point, shaped like ``y``: (N,) from logits (N, C), (M, N) from (M, N, C).

    "cross_entropy" is -log softmax_y; "mse" is |softmax - onehot(y)|^2. Its mean over the points
    is the training loss (:func:`mean_loss`).
    """
    if loss not in LOSSES:
        raise ValueError(f"loss={loss!r} is not allowed; choose one of {', '.join(LOSSES)}")
    logits = logits.movedim(dim, -1)
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
