"""``step_all``: the batched Adam update equals each optimiser's own ``step``; ``step_stacked``
equals ``step_all``.

Oracles: torch.optim.Adam.step on a copy of the same parameters and gradients (float64, to
rounding), the same optimiser batched with different neighbours (bit for bit), and for
``step_stacked`` ``step_all`` itself (float32, bit for bit).
"""

from __future__ import annotations

import copy

import pytest
import torch

from deqnet.engine.adam import step_all, step_stacked

SHAPES = ((3, 16, 3), (3, 16), (3, 2, 16), (3, 2), (2, 2))


def _model(seed: int, optimizer: str, lr: float, weight_decay: float, dtype=torch.float64):
    """Parameters of SHAPES and their optimiser."""
    generator = torch.Generator().manual_seed(seed)
    params = [torch.nn.Parameter(torch.randn(s, generator=generator, dtype=dtype)) for s in SHAPES]
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


def _stacked_grads(models, step: int) -> list[torch.Tensor]:
    """Gradients of each parameter of all models, stacked (K, *shape), as ``_set_grads``."""
    _set_grads(models, step)
    return [torch.stack([params[j].grad for params, _ in models]) for j in range(len(SHAPES))]


def _adams(settings, dtype=torch.float32):
    return [_model(i, "adam", lr, wd, dtype) for i, (lr, wd) in enumerate(settings)]


ADAMS = [(0.01, 0.0), (0.04, 0.0), (0.005, 0.0), (0.02, 0.0)]


@pytest.mark.parametrize("weight_decay", [0.0, 1e-3])
def test_step_stacked_equals_step_all_bit_for_bit(weight_decay):
    settings = [(lr, weight_decay) for lr, _ in ADAMS]
    stacked, ref = _adams(settings), _adams(settings)
    # Model 2 joins at step 2: from then on its step count and bias correction differ.
    for step in range(6):
        members = [0, 1, 3] if step < 2 else [0, 1, 2, 3]
        group, ref_group = [stacked[i] for i in members], [ref[i] for i in members]
        grads = _stacked_grads(group, step)
        _set_grads(ref_group, step)
        step_all([opt for _, opt in ref_group])
        flat = [p for params, _ in group for p in params]
        before = [p.detach().clone() for p in flat]
        weights = step_stacked([o for _, o in group], [p for p, _ in group], grads)
        if step in (0, 2):  # some model has no Adam state yet: declined, nothing changed
            assert weights is None
            assert all(torch.equal(p, b) for p, b in zip(flat, before, strict=True))
            step_all([opt for _, opt in group])  # as step_together's fallback
            continue
        assert weights is not None
        for j, w in enumerate(weights):
            assert torch.equal(w, torch.stack([params[j] for params, _ in group]))
    for (params, opt), (ref_params, ref_opt) in zip(stacked, ref, strict=True):
        for p, q in zip(params, ref_params, strict=True):
            assert torch.equal(p, q)
            assert opt.state[p].keys() == ref_opt.state[q].keys()
            for name, value in ref_opt.state[q].items():
                assert torch.equal(opt.state[p][name], value)


def test_step_stacked_rows_do_not_depend_on_their_neighbours():
    crowd, lone = _adams(ADAMS), _adams(ADAMS)[1:2]
    for step in range(4):
        grads = _stacked_grads(crowd, step)
        lone_grads = [g[1:2].clone() for g in grads]
        if step == 0:
            step_all([opt for _, opt in crowd])
            for (params, _), g in zip(lone, [lone_grads], strict=True):
                for p, gj in zip(params, g, strict=True):
                    p.grad = gj[0]
            step_all([lone[0][1]])
            continue
        step_stacked([o for _, o in crowd], [p for p, _ in crowd], grads)
        step_stacked([lone[0][1]], [lone[0][0]], lone_grads)
    for p, q in zip(crowd[1][0], lone[0][0], strict=True):
        assert torch.equal(p, q)


def test_step_stacked_declines_unlike_optimisers():
    adam = _adams([(0.01, 0.0)])
    sgd = [_model(5, "sgd", 0.05, 0.0, torch.float32)]
    other_betas = _adams([(0.01, 0.0)])
    other_betas[0][1].param_groups[0]["betas"] = (0.8, 0.99)
    for models in (adam + sgd, adam + other_betas):
        grads = _stacked_grads(models, 0)
        step_all([opt for _, opt in models])  # every optimiser has its state now
        grads = _stacked_grads(models, 1)
        assert step_stacked([o for _, o in models], [p for p, _ in models], grads) is None
