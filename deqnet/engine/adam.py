"""One Adam update for the optimisers of many trainers: one set of multi-tensor ops.

``Optimizer.step`` of 16 small models costs 16 Python loops over their parameters (torch's
single-tensor path, the default on CPU). Here every parameter of every plain Adam goes through
the one sequence of ``torch._foreach_*`` ops of torch's multi-tensor Adam
(``torch.optim.adam._multi_tensor_adam`` without amsgrad, maximize or capturable), with a step
size per tensor, so optimisers with different learning rates still share one call: torch's own
function takes one lr, and with four learning rates its four calls took a fifth of a stacked
resnet step. Betas, eps and weight decay are scalars of those ops, so optimisers that differ in
them get a call each. The state stays in each optimiser's own ``state`` (created by its own
``_init_group`` exactly as its ``step`` would), so a trainer can step alone afterwards and
``LastGood`` sees its moments. On CPU the foreach kernels apply the per-tensor op to each tensor
in turn, so a parameter's new value does not depend on which other parameters share the call
(``tests/test_sweep_adam.py``).

``step_stacked`` goes further for models whose gradients come stacked from one batched backward
pass (``step_together``): it gathers each parameter's weights and moments of all models into one
(K, ...) tensor (zero-padded where the stack pads shapes) and runs the same elementwise ops once
per parameter instead of once per model and parameter, then copies the results back into each
optimiser's own tensors. Every op is elementwise, with each model's step size and bias
correction broadcast along its own row, so a model's new values are bit for bit those of
``step_all``. Padding stays exactly 0: its gradient is 0, so are its moments, and the update
0 / (sqrt(0) + eps) is 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from deqnet.models.stack import Stack

# Options of torch.optim.Adam that the batched call assumes at their defaults.
_DEFAULTS = {
    "amsgrad": False,
    "maximize": False,
    "capturable": False,
    "differentiable": False,
    "decoupled_weight_decay": False,
}


def _batchable(optimizer: torch.optim.Optimizer) -> bool:
    return type(optimizer) is torch.optim.Adam and all(
        group.get(name, value) == value and not group.get("fused")
        for group in optimizer.param_groups
        for name, value in _DEFAULTS.items()
    )


def step_all(optimizers: Sequence[torch.optim.Optimizer]) -> None:
    """``optimizer.step()`` of each optimiser (the grads are set); plain Adams batched."""
    buckets: dict[tuple[float, float, float, float], _Bucket] = {}
    for optimizer in optimizers:
        if not _batchable(optimizer):
            optimizer.step()
            continue
        for group in optimizer.param_groups:
            beta1, beta2 = group["betas"]
            key = (beta1, beta2, group["eps"], group["weight_decay"])
            bucket = buckets.setdefault(key, _Bucket())
            before = len(bucket.params)
            optimizer._init_group(group, *bucket.lists())
            bucket.lrs += [group["lr"]] * (len(bucket.params) - before)
    with torch.no_grad():
        for (beta1, beta2, eps, weight_decay), bucket in buckets.items():
            bucket.update(beta1, beta2, eps, weight_decay)


def step_stacked(
    optimizers: Sequence[torch.optim.Optimizer],
    params: Sequence[Sequence[torch.Tensor]],
    grads: Sequence[torch.Tensor],
    stack: Stack | None = None,
) -> list[torch.Tensor] | None:
    """Adam step of K models; their new weights stacked, or None if not taken.

    ``params[r][j]`` is parameter j of model r and ``grads[j]`` (K, *shape) the gradients of
    parameter j of all K models: of equal shapes, or laid out (padded) as ``stack.tensors``.
    Taken only when every optimiser is a plain Adam with one parameter group, all share betas,
    eps and weight decay, and every parameter has Adam state (after its first step); otherwise
    nothing changes and the caller uses ``step_all``. Returns the new weights per parameter j,
    stacked (K, *shape).
    """
    if not all(_batchable(opt) and len(opt.param_groups) == 1 for opt in optimizers):
        return None
    groups = [opt.param_groups[0] for opt in optimizers]
    shared = {(tuple(g["betas"]), g["eps"], g["weight_decay"]) for g in groups}
    states = [[opt.state.get(p) for p in own] for opt, own in zip(optimizers, params, strict=True)]
    if len(shared) != 1 or not all(state for row in states for state in row):
        return None
    ((beta1, beta2), eps, weight_decay) = shared.pop()
    k, n_params = len(params), len(grads)
    steps = [state["step"] for row in states for state in row]
    with torch.no_grad():
        torch._foreach_add_(steps, torch.tensor(1.0), alpha=1.0)
        counts = torch.stack(steps).view(k, n_params).tolist()  # one call, not an .item() each
        weights, targets, sources = [], [], []
        for j, grad in enumerate(grads):
            rows = [1] * (grad.dim() - 1)
            own = [row[j] for row in states]
            p = _stacked(stack, j, [model[j] for model in params])
            exp_avg = _stacked(stack, j, [state["exp_avg"] for state in own])
            exp_avg_sq = _stacked(stack, j, [state["exp_avg_sq"] for state in own])
            # Each model's step size and bias correction, from Python floats as step_all's.
            step_size = torch.tensor(
                [-(g["lr"] / (1 - beta1 ** c[j])) for g, c in zip(groups, counts, strict=True)],
                dtype=p.dtype,
            ).view(k, *rows)
            bias_correction2_sqrt = torch.tensor(
                [(1 - beta2 ** c[j]) ** 0.5 for c in counts], dtype=p.dtype
            ).view(k, *rows)
            if weight_decay != 0:
                grad = grad.add(p, alpha=weight_decay)
            exp_avg.lerp_(grad, 1 - beta1)
            exp_avg_sq.mul_(beta2)
            exp_avg_sq.addcmul_(grad, grad, value=1 - beta2)
            denom = exp_avg_sq.sqrt()
            denom.div_(bias_correction2_sqrt)
            denom.add_(eps)
            # addcdiv computes p + (value * exp_avg) / denom: value * exp_avg first, as here.
            p.addcdiv_(step_size * exp_avg, denom)
            weights.append(p)
            targets += [model[j] for model in params]
            targets += [state["exp_avg"] for state in own] + [state["exp_avg_sq"] for state in own]
            for stacked in (p, exp_avg, exp_avg_sq):
                sources += _rows(stack, j, stacked)
        torch._foreach_copy_(targets, sources)
    return weights


def _stacked(stack: Stack | None, j: int, tensors: list[torch.Tensor]) -> torch.Tensor:
    """Parameter j's tensors of every model as one (K, ...), padded as the stack pads them
    (for one model, a view of its own tensor: updated in place, copied back onto itself)."""
    tensors = [t.detach() for t in tensors]
    return torch.stack(tensors) if stack is None else stack.pad_stack(stack.names[j], tensors)


def _rows(stack: Stack | None, j: int, stacked: torch.Tensor) -> list[torch.Tensor]:
    """Each model's part of parameter j's stacked tensor (views)."""
    if stack is None:
        return list(stacked.unbind())
    return [stack.own(stack.names[j], stacked, r) for r in range(stacked.shape[0])]


@dataclass
class _Bucket:
    """The tensors of the Adam parameters that share betas, eps and weight decay, and each
    tensor's learning rate; the lists are filled by ``Adam._init_group``."""

    params: list[torch.Tensor] = field(default_factory=list)
    grads: list[torch.Tensor] = field(default_factory=list)
    exp_avgs: list[torch.Tensor] = field(default_factory=list)
    exp_avg_sqs: list[torch.Tensor] = field(default_factory=list)
    max_exp_avg_sqs: list[torch.Tensor] = field(default_factory=list)
    steps: list[torch.Tensor] = field(default_factory=list)
    lrs: list[float] = field(default_factory=list)

    def lists(self) -> tuple[list[torch.Tensor], ...]:
        return (
            self.params,
            self.grads,
            self.exp_avgs,
            self.exp_avg_sqs,
            self.max_exp_avg_sqs,
            self.steps,
        )

    def update(self, beta1: float, beta2: float, eps: float, weight_decay: float) -> None:
        """torch's multi-tensor Adam on these tensors, op for op, with per-tensor step sizes."""
        if not self.params:
            return
        torch._foreach_add_(self.steps, torch.tensor(1.0), alpha=1.0)
        grads = self.grads
        if weight_decay != 0:
            grads = torch._foreach_add(grads, self.params, alpha=weight_decay)
        torch._foreach_lerp_(self.exp_avgs, grads, 1 - beta1)
        torch._foreach_mul_(self.exp_avg_sqs, beta2)
        torch._foreach_addcmul_(self.exp_avg_sqs, grads, grads, 1 - beta2)
        counts = torch.stack(self.steps).tolist()  # one call, not an .item() each
        step_size = [
            (lr / (1 - beta1**count)) * -1 for lr, count in zip(self.lrs, counts, strict=True)
        ]
        bias_correction2_sqrt = [(1 - beta2**count) ** 0.5 for count in counts]
        denom = torch._foreach_sqrt(self.exp_avg_sqs)
        torch._foreach_div_(denom, bias_correction2_sqrt)
        torch._foreach_add_(denom, eps)
        torch._foreach_addcdiv_(self.params, self.exp_avgs, denom, step_size)
