"""Training a digits model in resumable chunks: mini-batch Adam with a seeded generator.

Like ``deqnet.Trainer``: ``step(n)`` runs at most n optimiser steps (bounded by the step budget
and an optional time box), records each, and a non-finite loss, gradient or weight (or the
solver giving up) stops training for good with a message and the last good weights restored.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch.nn import functional as F

from deqnet._stepping import twin
from deqnet.config import ConfigError
from deqnet.digits.data import DigitsDataset
from deqnet.digits.models import ConvFeedForward, ConvModel
from deqnet.last_good import LastGood
from deqnet.models.solver import SolverFailure


class Divergence(RuntimeError):
    """Training cannot continue; the message says why in words a student understands."""


@dataclass(frozen=True)
class DigitsTrainConfig:
    """Adam's learning rate, the mini-batch size, the step budget and the batch seed."""

    lr: float = 0.01
    batch_size: int = 128
    train_steps: int = 100
    seed: int = 0

    def __post_init__(self) -> None:
        checks = {
            "lr": 1e-6 <= self.lr <= 1.0,
            "batch_size": isinstance(self.batch_size, int) and 1 <= self.batch_size <= 2000,
            "train_steps": isinstance(self.train_steps, int) and 1 <= self.train_steps <= 5000,
            "seed": isinstance(self.seed, int) and 0 <= self.seed < 2**31,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ConfigError(f"invalid training settings: {', '.join(bad)}")


class DigitsRecord(NamedTuple):
    """One optimiser step, measured on the weights the step started from.

    ``train_acc`` is the accuracy on the step's mini-batch (the full training split would cost
    more than the step); ``test_acc`` is on the whole test split.
    """

    step: int
    loss: float
    train_acc: float
    test_acc: float
    seconds: float


def parameter_groups(model: ConvModel, lr: float) -> list[dict]:
    """Adam's groups: the readout at ``lr``; a conv net's W and B at Δt · lr.

    Adam's step has the same size for every parameter, whatever its scale. The net's W − I and B
    are Δt times the ODE's w and b, so at Δt · lr the net and its ODE learn at the same pace and
    W − I stays O(Δt): at the full rate 100 steps of 0.01 would move W − I by O(1), and the
    trained net would no longer be a near-identity net (nor close to its ODE).
    """
    flow_lr = lr * model.config.dt if isinstance(model, ConvFeedForward) else lr
    return [
        {"params": [model.weight, model.bias], "lr": flow_lr},
        {"params": list(model.readout.parameters()), "lr": lr},
    ]


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of rows of logits (N, 10) whose largest entry is the label y (N,)."""
    return float((logits.argmax(dim=1) == y).to(torch.float64).mean())


class DigitsTrainer:
    """Trains ``model`` on ``data`` with ``config``, one bounded chunk at a time.

    Attributes:
        history: every DigitsRecord so far.
        status: "ok", or "diverged" once training has stopped for good.
        message: why it stopped ("" while ok).
    """

    def __init__(
        self, model: ConvModel, data: DigitsDataset, config: DigitsTrainConfig | None = None
    ) -> None:
        self.model = model
        self.data = data
        self.config = config or DigitsTrainConfig()
        self.optimizer = torch.optim.Adam(parameter_groups(model, self.config.lr))
        self.x_train = torch.as_tensor(data.x_train, dtype=model.dtype)
        self.y_train = torch.as_tensor(data.y_train)
        self.x_test = torch.as_tensor(data.x_test, dtype=model.dtype)
        self.y_test = torch.as_tensor(data.y_test)
        # Its own generator: the process-global seed is shared by every session of a server.
        self.generator = torch.Generator().manual_seed(self.config.seed)
        self.history: list[DigitsRecord] = []
        self.status = "ok"
        self.message = ""
        self._good = LastGood(list(model.parameters()), self.optimizer)
        self._good_step = 0

    def copy(self) -> DigitsTrainer:
        """An independent twin (weights, optimiser state, batch generator, history) that shares
        the dataset; its next steps are exactly the steps this trainer would take next."""
        return twin(self)

    @property
    def steps_done(self) -> int:
        return len(self.history)

    @property
    def budget_reached(self) -> bool:
        return self.steps_done >= self.config.train_steps

    def step(self, n: int = 1, *, max_seconds: float | None = None) -> list[DigitsRecord]:
        """Run up to n steps, never past the step budget; stop early when ``max_seconds`` runs
        out (after at least one step) or training diverges. Returns the steps' records."""
        n = min(int(n), self.config.train_steps - self.steps_done)
        records: list[DigitsRecord] = []
        start = time.perf_counter()
        for _ in range(n):
            if self.status != "ok":
                break
            if max_seconds is not None and records and time.perf_counter() - start > max_seconds:
                break
            try:
                record = self._one_step()
            except Divergence as err:
                self._stop(str(err))
                break
            records.append(record)
            self.history.append(record)
        return records

    def _stop(self, reason: str) -> None:
        self._good.restore()
        self.status = "diverged"
        self.message = (
            f"Training diverged at step {self.steps_done + 1}: {reason}. The last good weights "
            f"(step {self._good_step}) were restored. Try a smaller γ, fewer channels or a "
            "smaller learning rate."
        )

    def _batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.randperm(len(self.y_train), generator=self.generator)
        idx = idx[: self.config.batch_size]
        return self.x_train[idx], self.y_train[idx]

    def _one_step(self) -> DigitsRecord:
        t0 = time.perf_counter()
        xb, yb = self._batch()
        try:
            batch_logits = self.model(xb)
            with torch.no_grad():
                # Not in the training pass: back-propagating through the test rows (which need
                # no gradient) would make a step five times as expensive.
                test_logits = self.model(self.x_test)
        except SolverFailure as err:
            raise Divergence(f"the ODE solver failed ({err})") from err
        loss = F.cross_entropy(batch_logits, yb)
        if not torch.isfinite(loss):
            raise Divergence(f"the loss became {float(loss.detach())}")
        self._good.take()
        self._good_step = self.steps_done
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if not all(torch.isfinite(p.grad).all() for p in self.model.parameters()):
            raise Divergence("a gradient became infinite or NaN")
        self.optimizer.step()
        if not all(torch.isfinite(p).all() for p in self.model.parameters()):
            raise Divergence("a weight became infinite or NaN")
        return DigitsRecord(
            step=self.steps_done + 1,
            loss=float(loss.detach()),
            train_acc=accuracy(batch_logits.detach(), yb),
            test_acc=accuracy(test_logits, self.y_test),
            seconds=time.perf_counter() - t0,
        )


def evaluate(model: ConvModel, data: DigitsDataset) -> dict[str, float]:
    """Accuracy on both splits: dict(train_acc, test_acc)."""
    out = {}
    with torch.no_grad():
        for split in ("train", "test"):
            x = torch.as_tensor(getattr(data, f"x_{split}"), dtype=model.dtype)
            out[f"{split}_acc"] = accuracy(model(x), torch.as_tensor(getattr(data, f"y_{split}")))
    return out
