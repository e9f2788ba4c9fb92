"""Many Trainers, one computation: ``step_together`` takes one optimiser step of each, batched.

Each Trainer keeps everything of its own: model, data, optimiser (so each model's Adam state and
learning rate are its own), mini-batch generator, history, divergence status. Only the forward
and backward passes are shared: the models' weights are stacked and every layer becomes one
batched matmul (``deqnet.sweep.batched.Ensemble``). Per model, the step is the one
``Trainer.step(1)`` takes: the same batch, loss, metrics of the weights the step starts from
(with a fixed-step solver the test points ride along in the forward pass), clipping by the
model's own gradient norm, and the same divergence checks and messages.

With equal depths T (and a fixed-step solver or a discrete net) a model's numbers do not depend
on which other models share the step: every batched operation treats the M slices separately
(tests/test_sweep.py checks M = 1 against M = 8 bit for bit). Different depths integrate in a
rescaled time (see ``Ensemble``), equal to a lone run only to float rounding, and a shared
adaptive step controller takes the hardest model's steps: ``class_key`` keeps both apart.
"""

from __future__ import annotations

import math
import time
from collections.abc import Hashable, Sequence

import torch

from deqnet.losses import accuracy, mean_loss
from deqnet.models.base import SolverFailure
from deqnet.sweep.adam import step_all, step_stacked
from deqnet.sweep.batched import Ensemble
from deqnet.training import StepRecord, Trainer, evaluate, mark_all_good


def class_key(trainer: Trainer) -> Hashable:
    """Trainers with equal keys can share ``step_together`` and get exactly their lone-stack
    numbers; a key that holds the trainer itself means "step alone" (adaptive solvers).

    Equal: the model's config up to gamma (a per-model factor), the classes, the train and test
    sizes, the batch size, the loss, the gradient mode and the dtype. The optimiser, learning
    rate, weight decay, clipping, seeds and data values may all differ.
    """
    model, cfg = trainer.model, trainer.config
    if model.config.adaptive:
        return ("alone", id(trainer))
    return (
        model.config.replace(gamma=0.0),
        trainer.data.n_classes,
        len(trainer.y_train),
        len(trainer.y_test),
        cfg.batch_size,
        cfg.loss,
        cfg.grad_mode,
        model.dtype,
    )


def step_together(trainers: Sequence[Trainer]) -> None:
    """One optimiser step of every trainer still "ok", as one batched computation.

    The trainers' models must have the same family and shapes (``Ensemble``), their data the
    same sizes and their configs the same batch size, loss and gradient mode. Records are
    appended to each trainer's history (``seconds``: the shared step's time / trainers in it).
    If the shared solve fails (an adaptive solver giving up), each trainer takes this step alone,
    so only the models that fail on their own stop.
    """
    active = [t for t in trainers if t.status == "ok"]
    if not active:
        return
    start = time.perf_counter()
    try:
        records = _shared_step(active)
    except SolverFailure:
        for trainer in active:
            trainer.step(1)
        return
    seconds = (time.perf_counter() - start) / len(active)
    for trainer, record in records:
        trainer.history.append(record._replace(seconds=seconds))


def _shared_step(active: list[Trainer]) -> list[tuple[Trainer, StepRecord]]:
    """Forward, loss, backward and metrics of all ``active`` at once, then each one's update."""
    ensemble = Ensemble([t.model for t in active], [t.params for t in active])
    base = active[0].config
    adjoint = base.grad_mode == "adjoint"
    # An adaptive solver's step control sees all rows at once: test points cannot ride along.
    ride_along = not ensemble.config.adaptive
    batches = [t.next_batch() for t in active]
    xb = torch.stack([x for x, _ in batches])
    yb = torch.stack([y for _, y in batches])
    x_test = torch.stack([t.x_test for t in active])
    y_test = torch.stack([t.y_test for t in active])
    params = ensemble.stack(range(len(active)))
    for trainer in active:
        if not trainer.model.training:  # train() walks the module tree: only when needed
            trainer.model.train()
    inputs = torch.cat([xb, x_test], dim=1) if ride_along else xb
    logits = ensemble.logits(inputs, params, adjoint=adjoint)
    batch_logits = logits[:, : xb.shape[1]]
    losses = mean_loss(batch_logits, yb, base.loss)
    values = losses.detach().tolist()
    nfe_forward, ensemble.nfe = ensemble.nfe, 0
    keep = [j for j, value in enumerate(values) if math.isfinite(value)]
    for j in sorted(set(range(len(active))) - set(keep)):
        active[j].stop_diverged(f"the loss became {values[j]}")
    if not keep:
        return []
    mark_all_good([active[j] for j in keep])
    total = losses[keep].sum() if len(keep) < len(active) else losses.sum()
    grads = torch.autograd.grad(total, list(params.tensors.values()))
    nfe_backward = ensemble.nfe
    finite = torch.stack([torch.isfinite(g).flatten(1).all(dim=1) for g in grads]).all(dim=0)
    finite = finite.tolist()
    for j in [j for j in keep if not finite[j]]:
        active[j].stop_diverged("a gradient became infinite or NaN")
    keep = [j for j in keep if finite[j]]
    if not keep:
        return []
    with torch.no_grad():
        train_acc = _train_accuracy(ensemble, params, active, keep, batch_logits, yb)
        if ride_along:
            test_logits = logits[keep, xb.shape[1] :]
        else:
            test_logits = _eval(ensemble, params, keep, x_test[keep])
        test_acc = accuracy(test_logits, y_test[keep]).tolist()
    updated = _update([active[j] for j in keep], [g[keep] for g in grads])
    records = []
    for r, j in enumerate(keep):
        trainer = active[j]
        if not updated[r]:
            continue
        record = StepRecord(
            step=trainer.steps_done + 1,
            loss=values[j],
            train_acc=train_acc[r],
            test_acc=test_acc[r],
            nfe_forward=nfe_forward,
            nfe_backward=nfe_backward,
            seconds=0.0,
        )
        records.append((trainer, record))
    return records


def _train_accuracy(
    ensemble: Ensemble,
    params,
    active: list[Trainer],
    keep: list[int],
    batch_logits: torch.Tensor,
    yb: torch.Tensor,
) -> list[float]:
    """Train accuracy of the kept models: from the batch logits when the batch is all points."""
    if yb.shape[1] == len(active[0].y_train):
        return accuracy(batch_logits.detach()[keep], yb[keep]).tolist()
    x_train = torch.stack([active[j].x_train for j in keep])
    y_train = torch.stack([active[j].y_train for j in keep])
    return accuracy(_eval(ensemble, params, keep, x_train), y_train).tolist()


def _eval(ensemble: Ensemble, params, keep: list[int], x: torch.Tensor) -> torch.Tensor:
    """Logits (K, N, C) of the kept models' step-start weights; not counted as training NFE."""
    nfe = ensemble.nfe
    rows = params if len(keep) == params.size else params.subset(torch.tensor(keep))
    logits = ensemble.logits(x, rows)
    ensemble.nfe = nfe
    return logits


def _update(trainers: list[Trainer], grads: list[torch.Tensor]) -> list[bool]:
    """Clip each model's gradient by its own norm, take each one's optimiser step, check the
    weights (as Trainer does); ``grads`` are stacked (K, ...) for the K ``trainers``.

    The norms, the finiteness checks and the Adam updates (``step_stacked``, or ``step_all``
    for a first step or unlike optimisers) are computed for all models at once; each model
    keeps its own optimiser state and learning rate. Returns, per model,
    whether its new weights are finite (if not, it has been stopped).
    """
    clips = torch.tensor([t.config.grad_clip for t in trainers], dtype=grads[0].dtype)
    if bool((clips > 0).any()):
        # clip_grad_norm_ of each model: the norm over that model's parameters only.
        norms = torch.stack([torch.linalg.vector_norm(g.flatten(1), dim=1) for g in grads])
        total = torch.linalg.vector_norm(norms, dim=0)
        coef = torch.where(clips > 0, torch.clamp(clips / (total + 1e-6), max=1.0), 1.0)
        grads = [g * coef.view(-1, *[1] * (g.dim() - 1)) for g in grads]
    params = [t.params for t in trainers]
    optimizers = [t.optimizer for t in trainers]
    weights = step_stacked(optimizers, params, grads)
    if weights is None:  # a first step, or optimisers that are not alike: one by one
        for r, own in enumerate(params):
            for p, g in zip(own, grads, strict=True):
                p.grad = g[r]
        step_all(optimizers)
        with torch.no_grad():
            weights = [torch.stack(column) for column in zip(*params, strict=True)]
    finite = torch.stack([torch.isfinite(w).flatten(1).all(dim=1) for w in weights])
    finite = finite.all(dim=0).tolist()
    for trainer, ok in zip(trainers, finite, strict=True):
        if not ok:
            trainer.stop_diverged("a weight became infinite or NaN")
    return finite


class GroupTrainer:
    """A sweep group: one Trainer per cell, all stepped together by ``step_together``.

    Attributes:
        trainers: one per model, in the order given.
        history, status, messages: per model, its records, "ok" or "diverged", and why.
    """

    def __init__(self, models, datasets, configs) -> None:
        self.trainers = [
            Trainer(m, d, c) for m, d, c in zip(models, datasets, configs, strict=True)
        ]

    @property
    def history(self) -> list[list[StepRecord]]:
        return [t.history for t in self.trainers]

    @property
    def status(self) -> list[str]:
        return [t.status for t in self.trainers]

    @property
    def messages(self) -> list[str]:
        return [t.message for t in self.trainers]

    def step(self) -> None:
        """One optimiser step of every model still training."""
        step_together(self.trainers)

    def final_metrics(self) -> list[dict[str, float]]:
        """``evaluate`` of every model's current weights (each with its trainer's data and loss).

        With a fixed-step solver or a discrete net, one batched forward pass of all models over
        their train and test points: the numbers of ``evaluate`` to float rounding, at the cost
        of one pass instead of two lone passes per model (the lone passes took a quarter of a
        10-step sweep of 16 node models). An adaptive solver evaluates each model alone (a
        shared step controller would change its numbers); NaN where even it fails.
        """
        if self.trainers[0].model.config.adaptive:
            return [_lone_metrics(t) for t in self.trainers]
        ensemble = Ensemble([t.model for t in self.trainers], [t.params for t in self.trainers])
        n_train = len(self.trainers[0].y_train)
        x = torch.stack([torch.cat([t.x_train, t.x_test]) for t in self.trainers])
        with torch.no_grad():
            logits = ensemble.logits(x, ensemble.stack(range(len(self.trainers))))
        loss = self.trainers[0].config.loss
        columns = {}
        for split, split_logits in (("train", logits[:, :n_train]), ("test", logits[:, n_train:])):
            y = torch.stack([getattr(t, f"y_{split}") for t in self.trainers])
            columns[f"{split}_acc"] = accuracy(split_logits, y).tolist()
            columns[f"{split}_loss"] = mean_loss(split_logits, y, loss).tolist()
        return [{k: v[m] for k, v in columns.items()} for m in range(len(self.trainers))]


def _lone_metrics(trainer: Trainer) -> dict[str, float]:
    """``evaluate`` of a trainer's model; NaN if even its restored weights make the solver fail."""
    try:
        return evaluate(trainer.model, trainer.data, trainer.config.loss)
    except SolverFailure:
        return dict.fromkeys(("train_acc", "test_acc", "train_loss", "test_loss"), math.nan)


__all__ = ["GroupTrainer", "class_key", "step_together"]
