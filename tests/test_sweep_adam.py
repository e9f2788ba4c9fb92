"""``step_all``: the batched Adam update equals each optimiser's own ``step``.

Oracle: torch.optim.Adam.step on a copy of the same parameters and gradients (float64, to
rounding), and the same optimiser batched with different neighbours (bit for bit).
"""

from __future__ import annotations

import copy

import torch

from deqnet.sweep.adam import step_all

SHAPES = ((3, 16, 3), (3, 16), (3, 2, 16), (3, 2), (2, 2))


def _model(seed: int, optimizer: str, lr: float, weight_decay: float):
    """Parameters of SHAPES in float64 and their optimiser."""
    generator = torch.Generator().manual_seed(seed)
    params = [
        torch.nn.Parameter(torch.randn(s, generator=generator, dtype=torch.float64)) for s in SHAPES
    ]
    if optimizer == "adam":
        return params, torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    return params, torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)


def _set_grads(models, step: int) -> None:
    for i, (params, _) in enumerate(models):
        generator = torch.Generator().manual_seed(1000 * step + i)
        for p in params:
            p.grad = torch.randn(p.shape, generator=generator, dtype=p.dtype)


SETTINGS = [
    ("adam", 0.01, 0.0),
    ("adam", 0.01, 0.0),
    ("adam", 0.04, 0.0),
    ("adam", 0.01, 1e-3),
    ("sgd", 0.05, 0.0),
    ("adam", 0.005, 1e-4),
]


def test_step_all_equals_each_optimizers_own_step():
    batched = [_model(i, *s) for i, s in enumerate(SETTINGS)]
    alone = copy.deepcopy(batched)
    for step in range(4):
        _set_grads(batched, step)
        _set_grads(alone, step)
        step_all([opt for _, opt in batched])
        for _, opt in alone:
            opt.step()
    for (params, opt), (ref_params, ref_opt) in zip(batched, alone, strict=True):
        for p, ref in zip(params, ref_params, strict=True):
            torch.testing.assert_close(p, ref, rtol=1e-12, atol=0)
            state, ref_state = opt.state[p], ref_opt.state[ref]
            assert state.keys() == ref_state.keys()
            for name in ref_state:
                torch.testing.assert_close(state[name], ref_state[name], rtol=1e-12, atol=0)
    # The state lives in each optimiser's own ``state``: one can go on stepping alone.
    params, opt = batched[0]
    ref_params, ref_opt = alone[0]
    _set_grads([batched[0]], 9)
    _set_grads([alone[0]], 9)
    opt.step()
    ref_opt.step()
    for p, ref in zip(params, ref_params, strict=True):
        torch.testing.assert_close(p, ref, rtol=1e-12, atol=0)


def test_an_optimizers_update_does_not_depend_on_its_neighbours():
    crowd = [_model(i, *s) for i, s in enumerate(SETTINGS)]
    lone = copy.deepcopy(crowd[1])
    for step in range(3):
        _set_grads(crowd, step)
        for p, q in zip(crowd[1][0], lone[0], strict=True):
            q.grad = p.grad.clone()
        step_all([opt for _, opt in crowd])
        step_all([lone[1]])
    for p, ref in zip(crowd[1][0], lone[0], strict=True):
        assert torch.equal(p, ref)
