"""The one training step: ``step_together(trainers)`` takes one optimiser step of each, batched.

``Trainer.step`` is ``step_together([trainer])``; the live trainer and the sweep call it with
many. Each Trainer keeps everything of its own: model, data, optimiser (so each model's Adam
state and learning rate are its own), mini-batch generator, history, divergence status. Only the
forward and backward passes are shared: the models' weights are stacked and every layer becomes
one batched matmul (``deqnet.models.stack.Stack``). Per model: the batch, the loss, the metrics
of the weights the step starts from (with a fixed-step solver the test points ride along in the
forward pass), clipping by the model's own gradient norm, the divergence checks and messages.

With equal shapes (``stack_key(..., exact=True)``) a model's numbers do not depend on which other
models share the step: every batched operation treats the M slices separately
(tests/test_step_together.py checks a stack of one against a stack of eight bit for bit).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import torch

from deqnet.engine.adam import step_all, step_stacked
from deqnet.last_good import take_all
from deqnet.losses import mean_loss, score
from deqnet.models.solver import SolverFailure, explain_solver_failure
from deqnet.models.stack import Stack

if TYPE_CHECKING:
    from deqnet.training import Trainer


class StepRecord(NamedTuple):
    """Metrics of one optimiser step, measured on the weights the step started from.

    ``train_acc`` and ``test_acc`` hold the task's score: accuracy for classification, R² for
    regression (``deqnet.losses.score``); ``loss`` is the mean squared error for regression.
    """

    step: int
    loss: float
    train_acc: float
    test_acc: float
    nfe_forward: int
    nfe_backward: int
    seconds: float


def mark_all_good(trainers: Sequence[Trainer]) -> None:
    """Keep every trainer's current weights and optimiser state as its last good ones, with one
    fused copy (before an update, once the loss is known to be finite)."""
    take_all([t._good for t in trainers])
    for trainer in trainers:
        trainer._good_step = trainer.steps_done


def step_together(trainers: Sequence[Trainer]) -> None:
    """One optimiser step of every trainer still "ok", as one batched computation.

    The trainers' models must share a stack (same ``stack_key``): one family, the facts that
    shape the maths, data of the same sizes, the same batch size, loss and gradient mode.
    Records are appended to each trainer's history (``seconds``: the shared step's time / the
    trainers in it). If the shared solve fails (an adaptive solver giving up), each trainer takes
    this step alone, so only the models that fail on their own stop, with the solver's reason.
    """
    active = [t for t in trainers if t.status == "ok"]
    if not active:
        return
    start = time.perf_counter()
    try:
        records = _shared_step(active)
    except SolverFailure as err:
        if len(active) == 1:
            active[0].stop_diverged(explain_solver_failure(err))
        else:
            for trainer in active:
                step_together([trainer])
        return
    seconds = (time.perf_counter() - start) / len(active)
    for trainer, record in records:
        trainer.history.append(record._replace(seconds=seconds))


def _shared_step(active: list[Trainer]) -> list[tuple[Trainer, StepRecord]]:
    """Forward, loss, backward and metrics of all ``active`` at once, then each one's update."""
    stack = Stack([t.model for t in active], [t.params for t in active])
    base = active[0].config
    adjoint = base.grad_mode == "adjoint"
    # An adaptive solver's step control sees all rows at once: test points cannot ride along.
    ride_along = not stack.config.adaptive
    batches = [t.next_batch() for t in active]
    xb = torch.stack([x for x, _ in batches])
    yb = torch.stack([y for _, y in batches])
    x_test = torch.stack([t.x_test for t in active])
    y_test = torch.stack([t.y_test for t in active])
    inputs = torch.cat([xb, x_test], dim=1) if ride_along else xb
    logits = stack.logits(inputs, adjoint=adjoint)
    batch_logits = logits[:, : xb.shape[1]]
    losses = mean_loss(batch_logits, yb, base.loss)
    values = losses.detach().tolist()
    nfe_forward, stack.nfe = stack.nfe, 0
    keep = [j for j, value in enumerate(values) if math.isfinite(value)]
    for j in sorted(set(range(len(active))) - set(keep)):
        active[j].stop_diverged(f"the loss became {values[j]}")
    if not keep:
        return []
    mark_all_good([active[j] for j in keep])
    total = losses[keep].sum() if len(keep) < len(active) else losses.sum()
    grads = torch.autograd.grad(total, list(stack.tensors.values()))
    nfe_backward = stack.nfe
    finite = torch.stack([torch.isfinite(g).flatten(1).all(dim=1) for g in grads]).all(dim=0)
    finite = finite.tolist()
    for j in [j for j in keep if not finite[j]]:
        active[j].stop_diverged("a gradient became infinite or NaN")
    keep = [j for j in keep if finite[j]]
    if not keep:
        return []
    with torch.no_grad():
        train_acc = _train_accuracy(stack, active, keep, batch_logits, yb)
        if ride_along:
            test_logits = logits[keep, xb.shape[1] :]
        else:
            test_logits = _eval(stack, keep, x_test[keep])
        test_acc = score(test_logits, y_test[keep]).tolist()
    updated = _update(stack, [active[j] for j in keep], keep, [g[keep] for g in grads])
    records = []
    for r, j in enumerate(keep):
        if not updated[r]:
            continue
        record = StepRecord(
            step=active[j].steps_done + 1,
            loss=values[j],
            train_acc=train_acc[r],
            test_acc=test_acc[r],
            nfe_forward=nfe_forward,
            nfe_backward=nfe_backward,
            seconds=0.0,
        )
        records.append((active[j], record))
    return records


def _train_accuracy(
    stack: Stack, active: list[Trainer], keep: list[int], batch_logits: torch.Tensor, yb
) -> list[float]:
    """Train score (accuracy or R²) of the kept models: from the batch logits when the batch
    is all points."""
    if yb.shape[1] == len(active[0].y_train):
        return score(batch_logits.detach()[keep], yb[keep]).tolist()
    x_train = torch.stack([active[j].x_train for j in keep])
    y_train = torch.stack([active[j].y_train for j in keep])
    return score(_eval(stack, keep, x_train), y_train).tolist()


def _eval(stack: Stack, keep: list[int], x: torch.Tensor) -> torch.Tensor:
    """Logits (K, N, C) of the kept models' step-start weights; not counted as training NFE."""
    rows = stack if len(keep) == stack.size else Stack([stack.models[j] for j in keep])
    nfe = rows.nfe
    logits = rows.logits(x)
    rows.nfe = nfe
    return logits


def _update(
    stack: Stack, trainers: list[Trainer], keep: list[int], grads: list[torch.Tensor]
) -> list[bool]:
    """Clip each model's gradient by its own norm, take each one's optimiser step, check the
    weights; ``grads`` are stacked (K, ...) for the K ``trainers`` (rows ``keep`` of ``stack``).

    The norms, the finiteness checks and the Adam updates (``step_stacked``, or ``step_all``
    for a first step or unlike optimisers) are computed for all models at once; each model
    keeps its own optimiser state and learning rate. Returns, per model, whether its new weights
    are finite (if not, it has been stopped).
    """
    rows = stack if len(keep) == stack.size else Stack([stack.models[j] for j in keep])
    clips = torch.tensor([t.config.grad_clip for t in trainers], dtype=grads[0].dtype)
    if bool((clips > 0).any()):
        # clip_grad_norm_ of each model: the norm over that model's parameters only (padding
        # is 0 and adds nothing).
        norms = torch.stack([torch.linalg.vector_norm(g.flatten(1), dim=1) for g in grads])
        total = torch.linalg.vector_norm(norms, dim=0)
        coef = torch.where(clips > 0, torch.clamp(clips / (total + 1e-6), max=1.0), 1.0)
        grads = [g * coef.view(-1, *[1] * (g.dim() - 1)) for g in grads]
    params = [t.params for t in trainers]
    optimizers = [t.optimizer for t in trainers]
    weights = step_stacked(optimizers, params, grads, rows)
    if weights is None:  # a first step, or optimisers that are not alike: one by one
        for r, own in enumerate(params):
            for p, name, g in zip(own, rows.names, grads, strict=True):
                p.grad = rows.own(name, g, r)
        step_all(optimizers)
        with torch.no_grad():
            weights = [
                rows.pad_stack(name, list(column))
                for name, column in zip(rows.names, zip(*params, strict=True), strict=True)
            ]
    finite = torch.stack([torch.isfinite(w).flatten(1).all(dim=1) for w in weights])
    finite = finite.all(dim=0).tolist()
    for trainer, ok in zip(trainers, finite, strict=True):
        if not ok:
            trainer.stop_diverged("a weight became infinite or NaN")
    return finite
