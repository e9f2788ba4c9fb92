"""The one evaluation: score and mean loss of models on their data, as one stacked pass.

The "acc" metrics are the task's score: accuracy for classification, R² for regression
(``deqnet.losses.score``).

``deqnet.evaluate`` (one model) and a sweep's final metrics (many) both come here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from deqnet.datasets import Dataset
from deqnet.losses import as_labels, mean_loss, score
from deqnet.models.base import DeqModel
from deqnet.models.solver import SolverFailure
from deqnet.models.stack import Stack

METRICS = ("train_acc", "test_acc", "train_loss", "test_loss")


def evaluate_together(
    models: Sequence[DeqModel],
    datasets: Sequence[Dataset],
    loss: str = "cross_entropy",
    *,
    strict: bool = False,
) -> list[dict[str, float]]:
    """dict(train_acc, test_acc, train_loss, test_loss) of each model on its data set
    (regression: R² in the "acc" entries, mean squared error in the losses).

    The models must share a stack (``stack_key``) and their data sets the same sizes. With a
    fixed-step solver or a discrete net, one forward pass of all models over their train and
    test points (rows are independent). An adaptive solver's step control sees all rows of a
    solve, so there each model and split is solved alone, as the model alone would be; where
    the solver fails, NaN, or SolverFailure if ``strict``.
    """
    if models[0].config.adaptive:
        pairs = zip(models, datasets, strict=True)
        return [_alone(model, data, loss, strict) for model, data in pairs]
    n_train = len(datasets[0].y_train)
    dtype = models[0].dtype
    x = torch.stack(
        [torch.as_tensor(np.concatenate([d.x_train, d.x_test]), dtype=dtype) for d in datasets]
    )
    with torch.no_grad():
        logits = Stack(models, leaves=False).logits(x)
    columns = {}
    for split, split_logits in (("train", logits[:, :n_train]), ("test", logits[:, n_train:])):
        y = torch.stack([as_labels(getattr(d, f"y_{split}"), dtype) for d in datasets])
        columns[f"{split}_acc"] = score(split_logits, y).tolist()
        columns[f"{split}_loss"] = mean_loss(split_logits, y, loss).tolist()
    return [{name: columns[name][m] for name in METRICS} for m in range(len(models))]


def _alone(model: DeqModel, data: Dataset, loss: str, strict: bool) -> dict[str, float]:
    """Each split in its own solve; NaN if the solver fails (unless ``strict``)."""
    out = {}
    try:
        with torch.no_grad():
            for split in ("train", "test"):
                x = torch.as_tensor(getattr(data, f"x_{split}"), dtype=model.dtype)
                y = as_labels(getattr(data, f"y_{split}"), model.dtype)
                logits = Stack([model], leaves=False).logits(x.unsqueeze(0))
                out[f"{split}_acc"] = float(score(logits, y.unsqueeze(0))[0])
                out[f"{split}_loss"] = float(mean_loss(logits, y.unsqueeze(0), loss)[0])
    except SolverFailure:
        if strict:
            raise
        return dict.fromkeys(METRICS, math.nan)
    return {name: out[name] for name in METRICS}
