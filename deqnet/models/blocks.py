"""Building blocks shared by several families: stacked MLP fields and the small nonlinearity g.

Weights are stored stacked over K weight sets (leading dimension K), so a piecewise-constant or
untied model is one tensor per weight kind, and the layer <-> time maps are plain slicing.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from deqnet.config import ModelConfig
from deqnet.models.fast_tanh import tanh

ACTIVATION_FUNCTIONS = {
    "tanh": tanh,
    "relu": torch.relu,
    "softplus": nn.functional.softplus,
    "sigmoid": torch.sigmoid,
}


def small_nonlinearity(config: ModelConfig, x: torch.Tensor) -> torch.Tensor:
    """g(x), element-wise: -gamma x^3 ("cubic") or -gamma sin(x) ("sine")."""
    if config.nonlinearity == "cubic":
        return -config.gamma * x**3
    return -config.gamma * torch.sin(x)


def _uniform(shape: tuple[int, ...], bound: float, generator: torch.Generator) -> nn.Parameter:
    return nn.Parameter(torch.empty(shape).uniform_(-bound, bound, generator=generator))


class StackedMLP(nn.Module):
    """K one-hidden-layer MLPs f_k(x, t) = W2_k act(W1_k [x, t] + b1_k) + b2_k.

    Shapes: w1 (K, width, D + time_input), b1 (K, width), w2 (K, D, width), b2 (K, D).
    ``time_input`` appends t as an extra input column (time mode "time").
    Initialisation follows torch.nn.Linear (uniform with bound 1/sqrt(fan_in)).
    """

    def __init__(self, config: ModelConfig, n_sets: int, generator: torch.Generator) -> None:
        super().__init__()
        self.activation = ACTIVATION_FUNCTIONS[config.activation]
        self.time_input = config.time_mode == "time"
        d, width = config.dim, config.width
        fan_in = d + int(self.time_input)
        self.w1 = _uniform((n_sets, width, fan_in), 1 / math.sqrt(fan_in), generator)
        self.b1 = _uniform((n_sets, width), 1 / math.sqrt(fan_in), generator)
        self.w2 = _uniform((n_sets, d, width), 1 / math.sqrt(width), generator)
        self.b2 = _uniform((n_sets, d), 1 / math.sqrt(width), generator)

    def bind(self, k: int) -> Callable[[torch.Tensor | float, torch.Tensor], torch.Tensor]:
        """f_k as a function of (t, x), with weight set k sliced once.

        A solver evaluates f hundreds of times per step; slicing the stacked weights once per
        solve instead of per evaluation keeps the op count at that of a plain nn.Linear MLP.
        """
        w1, b1, w2, b2 = self.w1[k], self.b1[k], self.w2[k], self.b2[k]
        activation = self.activation
        if not self.time_input:
            return lambda t, x: F.linear(activation(F.linear(x, w1, b1)), w2, b2)
        w1_x, w1_t = w1[:, :-1], w1[:, -1]

        def field(t: torch.Tensor | float, x: torch.Tensor) -> torch.Tensor:
            pre = F.linear(x, w1_x, b1) + torch.as_tensor(t, dtype=x.dtype) * w1_t
            return F.linear(activation(pre), w2, b2)

        return field

    def forward(self, k: int, t: torch.Tensor | float, x: torch.Tensor) -> torch.Tensor:
        """f_k(x, t): (N, D) -> (N, D)."""
        return self.bind(k)(t, x)


class StackedLinear(nn.Module):
    """K affine maps x -> w_k x + b_k; shapes w (K, D, D), b (K, D).

    Initialised w_k = scale * w0_k (+ I if ``identity``), b_k = scale * b0_k, w0 and b0 Gaussian.
    With scale = dt and identity=True this is the feed-forward layer W = I + dt w0, B = dt b0 that
    (P4) pairs with the (P1) field w0 x + b0 built from the same generator draws.
    """

    def __init__(
        self,
        dim: int,
        n_sets: int,
        generator: torch.Generator,
        *,
        weight_std: float,
        bias_std: float,
        scale: float = 1.0,
        identity: bool = False,
    ) -> None:
        super().__init__()
        w = torch.randn((n_sets, dim, dim), generator=generator) * weight_std * scale
        b = torch.randn((n_sets, dim), generator=generator) * bias_std * scale
        if identity:
            w = w + torch.eye(dim)
        self.w = nn.Parameter(w)
        self.b = nn.Parameter(b)

    def forward(self, k: int, x: torch.Tensor) -> torch.Tensor:
        """w_k x + b_k: (N, D) -> (N, D)."""
        return F.linear(x, self.w[k], self.b[k])


class MLPFamily:
    """Mixin for the families whose field or layer is a StackedMLP with one weight set per
    segment (``mlp``), and no small nonlinearity g; put it before the DeqModel base."""

    uses_mlp = True
    uses_gamma = False

    def __init__(self, config: ModelConfig, n_classes: int, generator: torch.Generator) -> None:
        super().__init__(config, n_classes, generator)
        self.mlp = StackedMLP(config, config.n_segments, generator)
