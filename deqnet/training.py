"""Training in resumable chunks: ``Trainer.step(n)`` runs n optimiser steps and records each.

Callers decide how many steps to take and when: quick training takes time-boxed chunks, and the
live trainer (``deqnet.live``) one step per round through ``step_together``, so a Trainer never
loops on its own and every step is bounded. Divergence (non-finite loss, gradient or weights;
the solver giving up) stops training with an explanation and puts back the last weights that
gave a finite loss.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from deqnet._stepping import Divergence, run_steps, twin
from deqnet.config import TrainConfig
from deqnet.datasets import Dataset
from deqnet.last_good import LastGood, take_all
from deqnet.losses import accuracy, mean_loss
from deqnet.models.base import DeqModel, SolverFailure


class StepRecord(NamedTuple):
    """Metrics of one optimiser step, measured on the weights the step started from."""

    step: int
    loss: float
    train_acc: float
    test_acc: float
    nfe_forward: int
    nfe_backward: int
    seconds: float


def _tensors(model: DeqModel, x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.as_tensor(x, dtype=model.dtype), torch.as_tensor(y, dtype=torch.int64)


def evaluate(model: DeqModel, data: Dataset, loss: str = "cross_entropy") -> dict[str, float]:
    """Accuracy and mean loss on both splits: dict(train_acc, test_acc, train_loss, test_loss)."""
    out = {}
    with torch.no_grad():
        for split in ("train", "test"):
            x, y = _tensors(model, getattr(data, f"x_{split}"), getattr(data, f"y_{split}"))
            logits = model(x)
            out[f"{split}_acc"] = float(accuracy(logits, y))
            out[f"{split}_loss"] = float(mean_loss(logits, y, loss))
    return out


def make_optimizer(params, config: TrainConfig) -> torch.optim.Optimizer:
    """Adam, or SGD with momentum, with the config's learning rate and weight decay."""
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(
        params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
    )


def explain_solver_failure(err: Exception) -> str:
    """Plain-language reason for a torchdiffeq failure."""
    text = str(err)
    if "underflow" in text:
        return "the adaptive solver's step size shrank to nothing (the flow became too stiff)"
    if "max_num_steps" in text:
        return "the adaptive solver needed more steps than the max-steps bound allows"
    if "non-finite" in text or "nan" in text.lower():
        return "the hidden state became infinite or NaN inside the solver"
    return f"the ODE solver failed ({text})"


def mark_all_good(trainers: Sequence[Trainer]) -> None:
    """``mark_good`` of every trainer, with one fused copy (``step_together`` marks them all)."""
    take_all([t._good for t in trainers])
    for trainer in trainers:
        trainer._good_step = trainer.steps_done


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
        """Run up to n optimiser steps (fewer if ``max_seconds`` runs out or training diverges).

        Returns the records of the steps taken; they are also appended to ``history``.
        """
        return run_steps(self, n, max_seconds, self.stop_diverged)

    def mark_good(self) -> None:
        """The current weights gave a finite loss: keep them (and the optimiser state) as the
        last good ones. Called once per step, before the update."""
        mark_all_good([self])

    def stop_diverged(self, reason: str) -> None:
        """Stop for good: put back the last good weights and say why (``reason`` in words)."""
        self._good.restore()
        self.status = "diverged"
        self.message = (
            f"Training diverged at step {self.steps_done + 1}: {reason}. The last good weights "
            f"(step {self._good_step}) were restored. Try a smaller learning rate, a shorter "
            "depth T, more solver steps, or a bounded activation such as tanh."
        )

    def _one_step(self) -> StepRecord:
        t0 = time.perf_counter()
        model, cfg = self.model, self.config
        adjoint = cfg.grad_mode == "adjoint"
        xb, yb = self.next_batch()
        model.train()
        model.nfe = 0
        try:
            logits, test_logits = self._forward(xb, adjoint)
            loss = mean_loss(logits, yb, cfg.loss)
            if not torch.isfinite(loss):
                raise Divergence(f"the loss became {float(loss.detach())}")
            nfe_forward, model.nfe = model.nfe, 0
            self.mark_good()
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nfe_backward = model.nfe
        except SolverFailure as err:
            raise Divergence(explain_solver_failure(err)) from err
        grads = [p.grad for p in self.params if p.grad is not None]
        if not all(torch.isfinite(g).all() for g in grads):
            raise Divergence("a gradient became infinite or NaN")
        with torch.no_grad():
            train_acc = float(accuracy(logits, yb))
            if len(yb) != len(self.y_train):
                train_acc = float(accuracy(self._eval_logits(self.x_train), self.y_train))
            if test_logits is None:
                test_logits = self._eval_logits(self.x_test)
            test_acc = float(accuracy(test_logits, self.y_test))
        if cfg.grad_clip > 0:
            nn.utils.clip_grad_norm_(self.params, cfg.grad_clip)
        self.optimizer.step()
        if not all(torch.isfinite(p).all() for p in self.params):
            raise Divergence("a weight became infinite or NaN")
        return StepRecord(
            step=self.steps_done + 1,
            loss=float(loss.detach()),
            train_acc=train_acc,
            test_acc=test_acc,
            nfe_forward=nfe_forward,
            nfe_backward=nfe_backward,
            seconds=time.perf_counter() - t0,
        )

    def _forward(self, xb: torch.Tensor, adjoint: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits of the batch (B, C) and, when they can ride along, of the test set.

        With a fixed-step solver or a discrete net every row is computed independently, so the
        test points join the training forward pass: the same number of tensor operations (the
        real cost of these tiny models) yields the test accuracy. An adaptive solver's step
        control looks at all rows at once, so there the test set is evaluated separately.
        """
        if self.model.config.adaptive:
            return self.model(xb, adjoint=adjoint), None
        logits = self.model(torch.cat([xb, self.x_test]), adjoint=adjoint)
        return logits[: len(xb)], logits[len(xb) :].detach()

    def _eval_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, C) without a graph; evaluation NFE is not counted as training NFE."""
        nfe = self.model.nfe
        try:
            return self.model(x)
        except SolverFailure as err:
            raise Divergence(explain_solver_failure(err)) from err
        finally:
            self.model.nfe = nfe
