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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

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
        counts = torch.stack(self.steps).tolist()  # one call, not an .item() per tensor
        step_size = [
            (lr / (1 - beta1**count)) * -1 for lr, count in zip(self.lrs, counts, strict=True)
        ]
        bias_correction2_sqrt = [(1 - beta2**count) ** 0.5 for count in counts]
        denom = torch._foreach_sqrt(self.exp_avg_sqs)
        torch._foreach_div_(denom, bias_correction2_sqrt)
        torch._foreach_add_(denom, eps)
        torch._foreach_addcdiv_(self.params, self.exp_avgs, denom, step_size)
