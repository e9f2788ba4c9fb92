"""Training one group of shape-compatible models as one batched computation, step by step.

For every model it mirrors ``deqnet.training.Trainer``: the same mini-batches (a generator seeded
with the model's own seed), loss, metrics of the weights the step started from (test accuracy
evaluated before the update), per-model gradient clipping, the same torch optimiser (one param
group per distinct (lr, weight_decay), so each model's Adam state is its own) and the same
divergence checks. A model that diverges gets the Trainer's message, its last good weights back,
and is frozen (left out of every later step); the others carry on unaffected.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import torch
from torch import nn

from deqnet.config import TrainConfig
from deqnet.datasets import Dataset
from deqnet.models.base import DeqModel, SolverFailure
from deqnet.sweep.batched import Ensemble, StackedParams
from deqnet.training import StepRecord, explain_solver_failure, loss_function, make_optimizer

# Same wording as Trainer.step, so a sweep cell reads like a playground run.
DIVERGED = (
    "Training diverged at step {step}: {reason}. The last good weights (step {good}) were "
    "restored. Try a smaller learning rate, a shorter depth T, more solver steps, or a bounded "
    "activation such as tanh."
)


class _SharedFailure(Exception):
    """The shared solve gave up in ``phase``; which model caused it is found afterwards."""

    def __init__(self, phase: str, error: SolverFailure) -> None:
        super().__init__(str(error))
        self.phase = phase
        self.error = error


def batched_loss(logits: torch.Tensor, y: torch.Tensor, kind: str) -> torch.Tensor:
    """Mean loss of each model (M,) from logits (M, N, C) and labels (M, N); see loss_function."""
    if kind == "cross_entropy":
        per_point = nn.functional.cross_entropy(logits.transpose(1, 2), y, reduction="none")
        return per_point.mean(dim=1)
    target = nn.functional.one_hot(y, logits.shape[2]).to(logits.dtype)
    return ((logits.softmax(dim=2) - target) ** 2).sum(dim=2).mean(dim=1)


def batched_accuracy(logits: torch.Tensor, y: torch.Tensor) -> list[float]:
    """Accuracy of each model from logits (M, N, C) and labels (M, N)."""
    return (logits.argmax(dim=2) == y).to(torch.float64).mean(dim=1).tolist()


class GroupTrainer:
    """Trains M models (same family and shapes) on their own data and configs, all at once.

    Attributes:
        ensemble: the batched evaluator over the M models.
        history: per model, its StepRecords (``seconds`` = the group's step time / models in it;
            ``nfe_*`` = evaluations of the shared batched solve).
        status, messages: per model, "ok" or "diverged" and why.
        active: indices of the models still training.
    """

    def __init__(
        self,
        models: Sequence[DeqModel],
        datasets: Sequence[Dataset],
        configs: Sequence[TrainConfig],
    ) -> None:
        self.ensemble = Ensemble(models)
        self.configs = list(configs)
        # Everything but lr, weight_decay and seed is the same for all cells of a sweep.
        self.base = self.configs[0]
        dtype = self.ensemble.dtype
        self.x_train = torch.stack([torch.as_tensor(d.x_train, dtype=dtype) for d in datasets])
        self.y_train = torch.stack(
            [torch.as_tensor(d.y_train, dtype=torch.int64) for d in datasets]
        )
        self.x_test = torch.stack([torch.as_tensor(d.x_test, dtype=dtype) for d in datasets])
        self.y_test = torch.stack([torch.as_tensor(d.y_test, dtype=torch.int64) for d in datasets])
        self.params = [self.ensemble.parameters_of(i) for i in range(len(models))]
        self.optimizer = make_optimizer(self._param_groups(), self.base)
        self.generators = [torch.Generator().manual_seed(c.seed) for c in self.configs]
        self.history: list[list[StepRecord]] = [[] for _ in models]
        self.status = ["ok"] * len(models)
        self.messages = [""] * len(models)
        self.active = list(range(len(models)))
        self._good = [[p.detach().clone() for p in params] for params in self.params]
        self._good_steps = [0] * len(models)  # completed steps each snapshot in _good holds

    def _param_groups(self) -> list[dict]:
        groups: dict[tuple[float, float], list[nn.Parameter]] = {}
        for params, cfg in zip(self.params, self.configs, strict=True):
            groups.setdefault((cfg.lr, cfg.weight_decay), []).extend(params)
        return [{"params": p, "lr": lr, "weight_decay": wd} for (lr, wd), p in groups.items()]

    def step(self) -> None:
        """One optimiser step of every active model; models that diverge drop out."""
        if not self.active:
            return
        start = time.perf_counter()
        in_step = len(self.active)
        batches = self._draw_batches()
        while self.active:
            try:
                records = self._try_step(batches)
            except _SharedFailure as failure:
                self._blame(failure, batches)
                continue
            seconds = (time.perf_counter() - start) / in_step
            for i, record in records:
                self.history[i].append(record._replace(seconds=seconds))
            return

    def _draw_batches(self) -> dict[int, torch.Tensor] | None:
        """Mini-batch indices per active model (None: full batch), drawn as the Trainer draws."""
        n, size = self.y_train.shape[1], self.base.batch_size
        if size == 0 or size >= n:
            return None
        return {i: torch.randperm(n, generator=self.generators[i])[:size] for i in self.active}

    def _train_batch(
        self, active: list[int], batches: dict[int, torch.Tensor] | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs (M, B, 2) and labels (M, B) of the active models' batches."""
        if batches is None:
            return _rows(self.x_train, active), _rows(self.y_train, active)
        x = torch.stack([self.x_train[i][batches[i]] for i in active])
        y = torch.stack([self.y_train[i][batches[i]] for i in active])
        return x, y

    def _try_step(self, batches: dict[int, torch.Tensor] | None) -> list[tuple[int, StepRecord]]:
        ens, cfg = self.ensemble, self.base
        active = list(self.active)
        xb, yb = self._train_batch(active, batches)
        params = ens.stack(active)
        ens.nfe = 0
        logits = _shared(
            "forward", lambda: ens.logits(xb, params, adjoint=cfg.grad_mode == "adjoint")
        )
        losses = batched_loss(logits, yb, cfg.loss)
        loss_values = losses.detach().tolist()
        nfe_forward, ens.nfe = ens.nfe, 0
        keep = [j for j, value in enumerate(loss_values) if math.isfinite(value)]
        for j in [j for j in range(len(active)) if j not in keep]:
            self._diverge(active[j], f"the loss became {loss_values[j]}")
        if not keep:
            return []
        # The weights this step starts from gave a finite loss: they are the new last good ones
        # (one foreach copy for all models instead of a copy per tensor).
        torch._foreach_copy_(
            [g for j in keep for g in self._good[active[j]]],
            [p.detach() for j in keep for p in self.params[active[j]]],
        )
        for j in keep:
            self._good_steps[active[j]] = len(self.history[active[j]])
        total = losses[keep].sum() if len(keep) < len(active) else losses.sum()
        tensors = list(params.tensors.values())
        grads = _shared("backward", lambda: torch.autograd.grad(total, tensors))
        nfe_backward, ens.nfe = ens.nfe, 0
        finite = torch.stack([torch.isfinite(g).flatten(1).all(dim=1) for g in grads]).all(dim=0)
        finite = finite.tolist()
        for j in [j for j in keep if not finite[j]]:
            self._diverge(active[j], "a gradient became infinite or NaN")
        keep = [j for j in keep if finite[j]]
        if not keep:
            return []
        grads = list(grads)
        if len(keep) < len(active):
            rows = torch.tensor(keep)
            params, grads = params.subset(rows), [g[rows] for g in grads]
        train_acc, test_acc = self._accuracies(active, keep, logits, yb, params)
        self._apply(active, keep, grads)
        return self._records(
            active, keep, loss_values, train_acc, test_acc, nfe_forward, nfe_backward
        )

    def _accuracies(
        self,
        active: list[int],
        keep: list[int],
        logits: torch.Tensor,
        yb: torch.Tensor,
        params: StackedParams,
    ) -> tuple[list[float], list[float]]:
        """Train and test accuracy of the kept models' current weights (before the update)."""
        kept = [active[j] for j in keep]
        nfe = self.ensemble.nfe
        with torch.no_grad():
            if yb.shape[1] == self.y_train.shape[1]:
                train_acc = batched_accuracy(logits.detach()[keep], yb[keep])
            else:
                train_logits = _shared(
                    "eval_train", lambda: self.ensemble.logits(_rows(self.x_train, kept), params)
                )
                train_acc = batched_accuracy(train_logits, _rows(self.y_train, kept))
            test_logits = _shared(
                "eval_test", lambda: self.ensemble.logits(_rows(self.x_test, kept), params)
            )
            test_acc = batched_accuracy(test_logits, _rows(self.y_test, kept))
        self.ensemble.nfe = nfe  # evaluation is not training NFE, as in the Trainer
        return train_acc, test_acc

    def _apply(self, active: list[int], keep: list[int], grads: list[torch.Tensor]) -> None:
        """Clip each model's gradient by its own norm, step the optimiser, check the weights."""
        clip = self.base.grad_clip
        if clip > 0:
            # clip_grad_norm_ per model: the norm over that model's parameters only.
            norms = torch.stack([torch.linalg.vector_norm(g.flatten(1), dim=1) for g in grads])
            coef = torch.clamp(clip / (torch.linalg.vector_norm(norms, dim=0) + 1e-6), max=1.0)
            grads = [g * coef.view(-1, *[1] * (g.dim() - 1)) for g in grads]
        for r, j in enumerate(keep):
            for p, g in zip(self.params[active[j]], grads, strict=True):
                p.grad = g[r]
        self.optimizer.step()
        with torch.no_grad():
            finite = torch.stack(
                [
                    torch.isfinite(torch.stack([self.params[active[j]][q] for j in keep]))
                    .flatten(1)
                    .all(dim=1)
                    for q in range(len(grads))
                ]
            ).all(dim=0)
        for r, ok in enumerate(finite.tolist()):
            if not ok:
                self._diverge(active[keep[r]], "a weight became infinite or NaN")

    def _records(
        self,
        active: list[int],
        keep: list[int],
        loss_values: list[float],
        train_acc: list[float],
        test_acc: list[float],
        nfe_forward: int,
        nfe_backward: int,
    ) -> list[tuple[int, StepRecord]]:
        out = []
        for r, j in enumerate(keep):
            i = active[j]
            if self.status[i] != "ok":
                continue
            record = StepRecord(
                step=len(self.history[i]) + 1,
                loss=loss_values[j],
                train_acc=train_acc[r],
                test_acc=test_acc[r],
                nfe_forward=nfe_forward,
                nfe_backward=nfe_backward,
                seconds=0.0,
            )
            out.append((i, record))
        return out

    def _diverge(self, i: int, reason: str) -> None:
        """Stop model i for good: message, last good weights back, no more updates."""
        with torch.no_grad():
            for p, good in zip(self.params[i], self._good[i], strict=True):
                p.copy_(good)
                p.grad = None
        step, good = len(self.history[i]) + 1, self._good_steps[i]
        self.status[i] = "diverged"
        self.messages[i] = DIVERGED.format(step=step, reason=reason, good=good)
        self.active.remove(i)

    def _blame(self, failure: _SharedFailure, batches: dict[int, torch.Tensor] | None) -> None:
        """Find the models that make the shared solve fail by running each alone; stop them.

        If none fails alone (the shared step sequence needed more steps than any single model),
        the model that needs the most evaluations alone is stopped, so the others can go on.
        """
        culprits: list[tuple[int, str]] = []
        evaluations = []
        for i in self.active:
            model = self.ensemble.models[i]
            model.nfe = 0
            try:
                self._solo(failure.phase, i, batches)
            except SolverFailure as err:
                culprits.append((i, explain_solver_failure(err)))
            evaluations.append(model.nfe)
            model.nfe = 0
        if not culprits:
            worst = self.active[max(range(len(evaluations)), key=evaluations.__getitem__)]
            culprits = [(worst, explain_solver_failure(failure.error))]
        for i, reason in culprits:
            self._diverge(i, reason)

    def _solo(self, phase: str, i: int, batches: dict[int, torch.Tensor] | None) -> None:
        """Model i alone, in the phase that failed (raises SolverFailure if it fails alone)."""
        model = self.ensemble.models[i]
        if phase in ("forward", "backward"):
            x, y = self._train_batch([i], batches)
            if phase == "backward":
                logits = model(x[0], adjoint=self.base.grad_mode == "adjoint")
                loss_function(logits, y[0], self.base.loss).backward()
                for p in self.params[i]:
                    p.grad = None
                return
        else:
            x = self.x_train[i : i + 1] if phase == "eval_train" else self.x_test[i : i + 1]
        with torch.no_grad():
            model(x[0])


def _rows(t: torch.Tensor, rows: list[int]) -> torch.Tensor:
    """t[rows] along the model dimension (no copy when all models are taken in order)."""
    if rows == list(range(t.shape[0])):
        return t
    return t[rows]


def _shared(phase: str, compute: Callable):
    """Run a shared batched computation; a solver failure is tagged with its phase."""
    try:
        return compute()
    except SolverFailure as err:
        raise _SharedFailure(phase, err) from err
