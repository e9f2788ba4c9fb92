"""Hand-written torchdiffeq training loops: the baseline the Trainer is measured against.

``PlainLoop`` is what one would write from torchdiffeq's README: an ``nn.Module`` field, ``odeint``,
a linear readout, Adam and gradient clipping. It copies its initial weights from a deqnet model,
so both start from the same point on the same data and trace the same loss curve.
"""

from __future__ import annotations

import torch
from torch import nn
from torchdiffeq import odeint

import deqnet
from deqnet.models import NeuralODE, RuseckasODE


class MLPField(nn.Module):
    """F(x) = W2 tanh(W1 x + b1) + b2 with torch.nn.Linear layers."""

    def __init__(self, model: NeuralODE) -> None:
        super().__init__()
        width, dim = model.mlp.w1.shape[1], model.mlp.w1.shape[2]
        self.inner = nn.Linear(dim, width)
        self.outer = nn.Linear(width, dim)
        with torch.no_grad():
            self.inner.weight.copy_(model.mlp.w1[0])
            self.inner.bias.copy_(model.mlp.b1[0])
            self.outer.weight.copy_(model.mlp.w2[0])
            self.outer.bias.copy_(model.mlp.b2[0])

    def forward(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.outer(torch.tanh(self.inner(x)))


class LinearCubicField(nn.Module):
    """F(x) = w x + b - gamma x^3 (the paper's P1) with a torch.nn.Linear layer."""

    def __init__(self, model: RuseckasODE) -> None:
        super().__init__()
        dim = model.linear.w.shape[1]
        self.linear = nn.Linear(dim, dim)
        self.gamma = model.config.gamma
        with torch.no_grad():
            self.linear.weight.copy_(model.linear.w[0])
            self.linear.bias.copy_(model.linear.b[0])

    def forward(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x) - self.gamma * x**3


class PlainLoop:
    """Full-batch training of field + readout with odeint, Adam and gradient clipping.

    ``odeint_kwargs`` None means torchdiffeq out of the box (dopri5, rtol=1e-7, atol=1e-9);
    otherwise e.g. ``{"method": "rk4"}`` with the time grid linspace(0, T, steps + 1).
    """

    def __init__(
        self,
        model: NeuralODE | RuseckasODE,
        data: deqnet.Dataset,
        train: deqnet.TrainConfig,
        odeint_kwargs: dict | None,
    ) -> None:
        cfg = model.config
        self.field = MLPField(model) if cfg.family == "node" else LinearCubicField(model)
        self.readout = nn.Linear(cfg.dim, model.n_classes)
        self.readout.load_state_dict(model.readout.state_dict())
        self.params = [*self.field.parameters(), *self.readout.parameters()]
        self.optimizer = torch.optim.Adam(self.params, lr=train.lr)
        self.clip = train.grad_clip
        self.x, self.y = torch.as_tensor(data.x_train), torch.as_tensor(data.y_train)
        self.x_test, self.y_test = torch.as_tensor(data.x_test), torch.as_tensor(data.y_test)
        if odeint_kwargs is None:
            self.times, self.kwargs = torch.tensor([0.0, cfg.T]), {}
        else:
            self.times, self.kwargs = torch.linspace(0.0, cfg.T, cfg.steps + 1), odeint_kwargs

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.readout(odeint(self.field, x, self.times, **self.kwargs)[-1])

    def step(self) -> float:
        """One optimiser step; returns the loss of the weights it started from."""
        self.optimizer.zero_grad()
        loss = nn.functional.cross_entropy(self.logits(self.x), self.y)
        loss.backward()
        nn.utils.clip_grad_norm_(self.params, self.clip)
        self.optimizer.step()
        return float(loss.detach())

    def forward_nfe(self) -> int:
        """Field evaluations of one forward pass over the training set (current weights)."""
        calls = []
        hook = self.field.register_forward_hook(lambda *args: calls.append(1))
        with torch.no_grad():
            self.logits(self.x)
        hook.remove()
        return len(calls)

    def test_accuracy(self) -> float:
        with torch.no_grad():
            return float((self.logits(self.x_test).argmax(1) == self.y_test).double().mean())
