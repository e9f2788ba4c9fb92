"""One Adam update for the optimisers of many trainers: torch's multi-tensor Adam, per setting.

``Optimizer.step`` of 16 small models costs 16 Python loops over their parameters (torch's
single-tensor path, the default on CPU). Here the parameters of every optimiser with the same
lr, betas, eps and weight decay go through one ``torch.optim.adam.adam(foreach=True)`` call.
The state stays in each optimiser's own ``state`` (created by its own ``_init_group`` exactly as
its ``step`` would), so a trainer can step alone afterwards and ``LastGood`` sees its moments.
On CPU the foreach kernels apply the per-tensor op to each tensor in turn, so a parameter's new
value does not depend on which other parameters share the call.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.optim.adam import adam

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
    buckets: dict[tuple[float, ...], list[list[torch.Tensor]]] = {}
    for optimizer in optimizers:
        if not _batchable(optimizer):
            optimizer.step()
            continue
        for group in optimizer.param_groups:
            beta1, beta2 = group["betas"]
            key = (group["lr"], beta1, beta2, group["eps"], group["weight_decay"])
            lists = buckets.setdefault(key, [[] for _ in range(6)])
            optimizer._init_group(group, *lists)
    with torch.no_grad():
        for (lr, beta1, beta2, eps, weight_decay), lists in buckets.items():
            adam(
                *lists,
                foreach=True,
                amsgrad=False,
                beta1=beta1,
                beta2=beta2,
                lr=lr,
                weight_decay=weight_decay,
                eps=eps,
                maximize=False,
            )
