"""The one engine against mathematics written by hand, and padded stacks against unpadded ones.

Oracles: each family's equation written out with plain torch (row-major ``x @ W.T``, a
torchdiffeq solve in t rather than the engine's s = t / T), in float64; and for padding, the same
models trained alone (float64, to rounding: a padded sum adds exact zeros but may sum in another
order), with the padding's gradients and Adam moments checked to be exactly 0.
"""

from __future__ import annotations

import pytest
import torch
from torchdiffeq import odeint

import deqnet
from deqnet.engine import step_together, trainer_key
from deqnet.engine.adam import step_all, step_stacked
from deqnet.models.stack import Stack

T = 1.7  # not 1: the engine's rescaled time must matter


def _model(family: str, **config: object) -> deqnet.models.DeqModel:
    cfg = deqnet.ModelConfig(family=family, T=T, augment=1, width=6, layers=7, **config)
    return deqnet.build_model(cfg, 3, seed=4).double()


def _by_hand(model, x: torch.Tensor) -> torch.Tensor:
    """Logits (N, C) of ``model`` on inputs (N, 2), from its equation and its parameters."""
    cfg = model.config
    state = torch.cat([x, x.new_zeros(len(x), cfg.augment)], dim=1)
    gamma = cfg.gamma
    g = (lambda y: -gamma * y**3) if cfg.nonlinearity == "cubic" else (lambda y: -gamma * y.sin())

    def mlp(k: int, t: float, y: torch.Tensor) -> torch.Tensor:
        w1, b1, w2, b2 = (getattr(model.mlp, n)[k] for n in ("w1", "b1", "w2", "b2"))
        inputs = y if cfg.time_mode != "time" else torch.cat([y, y.new_full((len(y), 1), t)], 1)
        return torch.tanh(inputs @ w1.T + b1) @ w2.T + b2

    if cfg.discrete:
        dt = cfg.T / cfg.layers
        for layer in range(cfg.layers):
            k = min(layer * cfg.n_segments // cfg.layers, cfg.n_segments - 1)
            if cfg.family == "resnet":
                state = state + dt * mlp(k, layer * dt, state)
            else:
                y = state @ model.linear.w[k].T + model.linear.b[k]
                state = y + dt * g(y)
    else:
        bounds = torch.linspace(0, cfg.T, cfg.n_segments + 1, dtype=torch.float64)
        for k in range(cfg.n_segments):
            if cfg.family == "node":
                field = lambda t, y, k=k: mlp(k, float(t), y)  # noqa: E731
            else:
                field = lambda t, y, k=k: y @ model.linear.w[k].T + model.linear.b[k] + g(y)  # noqa: E731
            n = cfg.steps_per_segment + 1
            grid = torch.linspace(float(bounds[k]), float(bounds[k + 1]), n, dtype=torch.float64)
            state = odeint(field, state, grid, method=cfg.solver)[-1]
    return state @ model.readout.weight.T + model.readout.bias


CASES = [
    ("node", {}),
    ("node", {"time_mode": "time", "solver": "midpoint"}),
    ("node", {"time_mode": "piecewise", "segments": 3, "steps": 6}),
    ("ruseckas", {"gamma": 0.2}),
    ("ruseckas", {"time_mode": "piecewise", "segments": 2, "nonlinearity": "sine"}),
    ("resnet", {"time_mode": "time"}),
    ("resnet", {"time_mode": "piecewise", "segments": 3}),
    ("feedforward", {"gamma": 0.4}),
    ("feedforward", {"time_mode": "piecewise", "segments": 7, "nonlinearity": "sine"}),
]


@pytest.mark.parametrize(("family", "config"), CASES)
def test_a_lone_model_is_its_equation_written_by_hand(family: str, config: dict) -> None:
    model = _model(family, **config)
    x = torch.randn(40, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    logits = model(x)
    expected = _by_hand(model, x)
    torch.testing.assert_close(logits, expected, rtol=1e-11, atol=1e-12)
    # Back-propagation too: the gradient of a loss with respect to every parameter.
    grads = torch.autograd.grad(logits.square().sum(), list(model.parameters()))
    expected_grads = torch.autograd.grad(expected.square().sum(), list(model.parameters()))
    for got, want in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


def _trainer(family: str, i: int, dtype=torch.float64, **model: object) -> deqnet.Trainer:
    run = deqnet.RunConfig(
        data=deqnet.DataConfig(name="moons", n=80, seed=1),
        model=deqnet.ModelConfig(family=family, **model),
        train=deqnet.TrainConfig(seed=i, lr=0.01 * (1 + i % 3), grad_clip=5.0),
    )
    data = run.data.make()
    return deqnet.Trainer(deqnet.build_model(run.model, 2, seed=i).to(dtype), data, run.train)


PADDED = [
    ("node", "width", (3, 5, 16)),
    ("resnet", "width", (1, 7, 12)),
    ("resnet", "layers", (2, 5, 9)),
    ("feedforward", "layers", (1, 4, 10)),
]


@pytest.mark.parametrize(("family", "name", "values"), PADDED)
def test_a_padded_stack_trains_each_model_as_alone(family: str, name: str, values) -> None:
    stacked = [_trainer(family, i, **{name: v}) for i, v in enumerate(values)]
    alone = [_trainer(family, i, **{name: v}) for i, v in enumerate(values)]
    assert len({trainer_key(t, exact=False) for t in stacked}) == 1
    assert len({trainer_key(t) for t in stacked}) == len(values)  # never padded when exact
    for _ in range(100):
        step_together(stacked)
        for trainer in alone:
            trainer.step(1)
    for a, b in zip(stacked, alone, strict=True):
        assert a.status == b.status == "ok"
        losses = [r.loss for r in a.history]
        assert losses == pytest.approx([r.loss for r in b.history], rel=1e-9, abs=1e-12)
        for p, q in zip(a.model.parameters(), b.model.parameters(), strict=True):
            torch.testing.assert_close(p, q, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "softplus"])
def test_padding_gets_no_gradient_and_no_adam_step(activation: str) -> None:
    """Widths 3 and 8 padded to 8, float32 (the sigmoid form of tanh): the padded hidden units'
    weights get gradients of exactly 0 (sigmoid(0) and softplus(0) are not 0, so the mask is what
    does it), and 100 stacked Adam steps leave the padding exactly 0 while each model follows
    its own optimiser (to float32 rounding: a padded product may sum in another order, and
    Adam's normalised steps carry such differences along)."""
    widths = (3, 8)
    make = lambda: [_trainer("node", i, torch.float32, width=w, activation=activation)  # noqa: E731
                    for i, w in enumerate(widths)]  # fmt: skip
    stacked, alone = make(), make()
    optimizers = [t.optimizer for t in stacked]
    params = [t.params for t in stacked]
    for step in range(100):
        stack = Stack([t.model for t in stacked], params)
        x = torch.stack([t.x_train for t in stacked])
        grads = torch.autograd.grad(stack.logits(x).square().mean(), list(stack.tensors.values()))
        for name, grad in zip(stack.names, grads, strict=True):
            padding = grad[0].clone()
            padding[tuple(slice(0, s) for s in stack.shapes[name][0])] = 0
            assert not padding.any(), name
        for trainer in alone:
            lone = Stack([trainer.model], [trainer.params])
            lone_grads = torch.autograd.grad(
                lone.logits(trainer.x_train[None]).square().mean(), list(lone.tensors.values())
            )
            for p, g in zip(trainer.params, lone_grads, strict=True):
                p.grad = g[0]
            trainer.optimizer.step()
        if step == 0:  # Adam's state is created by its first step
            for r, own in enumerate(params):
                for p, name, g in zip(own, stack.names, grads, strict=True):
                    p.grad = stack.own(name, g, r)
            step_all(optimizers)
            continue
        weights = step_stacked(optimizers, params, list(grads), stack)
        assert weights is not None
        for name, w in zip(stack.names, weights, strict=True):
            padding = w[0].clone()
            padding[tuple(slice(0, s) for s in stack.shapes[name][0])] = 0
            assert not padding.any(), name
    for a, b in zip(stacked, alone, strict=True):
        for p, q in zip(a.params, b.params, strict=True):
            torch.testing.assert_close(p, q, rtol=1e-3, atol=1e-4)
