"""Training in resumable chunks: ``Trainer.step(n)`` runs n optimiser steps and records each.

Callers decide how many steps to take and when: quick training takes time-boxed chunks, and the
live trainer (``deqnet.live``) one step per round through ``step_together``, so a Trainer never
loops on its own and every step is bounded. A Trainer's step *is* ``step_together([trainer])``:
one code path whether a model trains alone, in a class or in a sweep. Divergence (non-finite
loss, gradient or weights; the solver giving up) stops training with an explanation and puts
back the last weights that gave a finite loss.
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import torch

from deqnet._stepping import twin
from deqnet.config import TrainConfig
from deqnet.datasets import Dataset
from deqnet.engine import StepRecord, evaluate_together, step_together
from deqnet.last_good import LastGood
from deqnet.losses import as_labels
from deqnet.models.base import DeqModel

__all__ = ["StepRecord", "Trainer", "evaluate", "make_optimizer"]


def _tensors(model: DeqModel, x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Points (N, 2) in the model's dtype; class labels (N,) int64 or regression targets (N,)
    in the model's dtype (the labels' dtype is what tells the loss the task)."""
    return torch.as_tensor(x, dtype=model.dtype), as_labels(y, model.dtype)


def evaluate(model: DeqModel, data: Dataset, loss: str = "cross_entropy") -> dict[str, float]:
    """Score and mean loss on both splits: dict(train_acc, test_acc, train_loss, test_loss);
    the "acc" entries are accuracy, or R² for a regression data set (``loss`` is then the
    squared error whatever it names).

    Raises SolverFailure if the model's solve fails on the data.
    """
    return evaluate_together([model], [data], loss, strict=True)[0]


def make_optimizer(params, config: TrainConfig) -> torch.optim.Optimizer:
    """Adam, or SGD with momentum, with the config's learning rate and weight decay."""
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(
        params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
    )


_SERIALS = itertools.count(1)


class Trainer:
    """Trains ``model`` on ``data`` with ``config``, one bounded chunk at a time.

    Attributes:
        params: the model's parameters, listed once (``list(model.parameters())``).
        serial: a number no other Trainer of this process has (a live view whose history came
            from another serial starts its curves afresh).
        history: every StepRecord so far.
        status: "ok", or "diverged" once training has stopped for good.
        message: why training stopped ("" while ok).
    """

    def __init__(self, model: DeqModel, data: Dataset, config: TrainConfig | None = None) -> None:
        self.model = model
        self.data = data
        self.config = config or TrainConfig()
        self.params = list(model.parameters())  # in ``named_parameters`` order
        self.serial = next(_SERIALS)
        self.optimizer = make_optimizer(self.params, self.config)
        self.x_train, self.y_train = _tensors(model, data.x_train, data.y_train)
        self.x_test, self.y_test = _tensors(model, data.x_test, data.y_test)
        self.generator = torch.Generator().manual_seed(self.config.seed)
        self.history: list[StepRecord] = []
        self.status = "ok"
        self.message = ""
        self._good = LastGood(self.params, self.optimizer)
        self._good_step = 0  # how many completed steps the snapshot ``_good`` holds

    @property
    def steps_done(self) -> int:
        return len(self.history)

    def copy(self) -> Trainer:
        """An independent twin: its own model, weights, optimiser state, batch generator, history
        and last-good snapshot, equal to this trainer's, and a new ``serial``; the dataset and
        its tensors (never written) are shared. Its next steps are exactly the steps this
        trainer would take next."""
        copied = twin(self)
        copied.serial = next(_SERIALS)
        return copied

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """This step's inputs (B, 2) and labels (B,): all points, or a mini-batch drawn with the
        trainer's own generator (so a run's batches never depend on anything else)."""
        n, size = len(self.y_train), self.config.batch_size
        if size == 0 or size >= n:
            return self.x_train, self.y_train
        idx = torch.randperm(n, generator=self.generator)[:size]
        return self.x_train[idx], self.y_train[idx]

    def step(self, n: int = 1, *, max_seconds: float | None = None) -> list[StepRecord]:
        """Run up to n optimiser steps (fewer if ``max_seconds`` runs out, checked after at least
        one step, or training diverges). Returns the records of the steps taken; they are also
        appended to ``history``."""
        first = len(self.history)
        start = time.perf_counter()
        for _ in range(int(n)):
            if self.status != "ok":
                break
            if max_seconds is not None and len(self.history) > first:
                if time.perf_counter() - start > max_seconds:
                    break
            step_together([self])
        return self.history[first:]

    def stop_diverged(self, reason: str) -> None:
        """Stop for good: put back the last good weights and say why (``reason`` in words)."""
        self._good.restore()
        self.status = "diverged"
        self.message = (
            f"Training diverged at step {self.steps_done + 1}: {reason}. The last good weights "
            f"(step {self._good_step}) were restored. Try a smaller learning rate, a shorter "
            "depth T, more solver steps, or a bounded activation such as tanh."
        )
