"""The families' building blocks, written once for M stacked models: an MLP field and a linear
map with the small nonlinearity g.

Parameters are stored per model stacked over K weight sets (leading dimension K), so a
piecewise-constant or untied model is one tensor per weight kind. The maths works on M models at
once (``deqnet.models.stack.Stack`` stacks their tensors to (M, K, ...)); a lone model is a stack
of one. States are feature-major, (M, D, N): every product runs along the N points.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import NamedTuple

import torch
from torch import nn

from deqnet.config import ModelConfig
from deqnet.models.fast_tanh import tanh

ACTIVATION_FUNCTIONS = {
    "tanh": tanh,
    "relu": torch.relu,
    "softplus": nn.functional.softplus,
    "sigmoid": torch.sigmoid,
}

# A weight-set index: one set for every model (int) or one per model (LongTensor (M,)).
SetIndex = int | torch.Tensor


def weight_set(tensor: torch.Tensor, k: SetIndex) -> torch.Tensor:
    """Weight set k of every model: (M, K, ...) -> (M, ...)."""
    if isinstance(k, int):
        return tensor[:, k]
    return tensor[torch.arange(tensor.shape[0]), k]


class MLPWeights(NamedTuple):
    """One weight set of M MLPs W2 act(W1 [x, t] + b1) + b2, laid out for (M, D, N) states.

    A float32 tanh MLP is evaluated as the sigmoid MLP with the same function, since
    tanh(z) = 2 sigmoid(2z) - 1: W2 tanh(W1 x + b1) + b2 = (2 W2) sigmoid(2 W1 x + 2 b1) +
    (b2 - W2 1). The factors go into the M H D weights once per solve instead of three passes over
    the M H N hidden values per evaluation; autograd differentiates through them. float64 keeps
    tanh: the sigmoid form cancels for small |z| (``fast_tanh``).

    Attributes:
        w_in: (M, H, D), contiguous. b_in: (M, H, 1).
        w_t: (M, H, 1), the time column of W1 (time mode "time"), else None.
        w_out: (M, D, H), contiguous. b_out: (M, D, 1).
        activation: the function applied to the hidden layer.
    """

    w_in: torch.Tensor
    b_in: torch.Tensor
    w_t: torch.Tensor | None
    w_out: torch.Tensor
    b_out: torch.Tensor
    activation: str


def bind_mlp(
    tensors: Mapping[str, torch.Tensor],
    k: SetIndex,
    config: ModelConfig,
    *,
    scale: torch.Tensor | None = None,
    hidden_mask: torch.Tensor | None = None,
) -> MLPWeights:
    """Weight set k of the stacked ``mlp.*`` tensors (M, K, ...).

    ``scale`` (M, 1, 1) multiplies the field, T F(x, s T) for a solve in s = t / T: T goes into
    W2, b2 and the time column once. ``hidden_mask`` (M, 1, H) zeroes the hidden units a model
    does not have (widths padded to the stack's widest): their output weights are multiplied
    by 0, so they add nothing and every padded weight gets a gradient of exactly 0.
    """
    w1, b1 = weight_set(tensors["mlp.w1"], k), weight_set(tensors["mlp.b1"], k).unsqueeze(2)
    w2, b2 = weight_set(tensors["mlp.w2"], k), weight_set(tensors["mlp.b2"], k).unsqueeze(2)
    d = config.dim
    w_in = w1[:, :, :d]
    w_t = w1[:, :, d:] if config.time_mode == "time" else None
    if hidden_mask is not None:
        w2 = w2 * hidden_mask
    if scale is not None:
        w2, b2 = scale * w2, scale * b2
        w_t = None if w_t is None else scale * w_t
    activation = config.activation
    if activation == "tanh" and w_in.dtype == torch.float32:
        w_in, b1, w_t = 2 * w_in, 2 * b1, None if w_t is None else 2 * w_t
        w2, b2 = 2 * w2, b2 - w2.sum(dim=2, keepdim=True)
        activation = "sigmoid"
    return MLPWeights(w_in.contiguous(), b1, w_t, w2.contiguous(), b2, activation)


def apply_mlp(weights: MLPWeights, t: torch.Tensor | None, x: torch.Tensor) -> torch.Tensor:
    """W2 act(W1 [x, t] + b1) + b2 of every model: x (M, D, N) -> (M, D, N); t 0-d or (M, 1, 1)."""
    pre = torch.baddbmm(weights.b_in, weights.w_in, x)
    if weights.w_t is not None:
        pre = pre + t * weights.w_t
    hidden = ACTIVATION_FUNCTIONS[weights.activation](pre)
    if hidden.shape[1] == 1:
        # Width 1: the product is an outer product, and its gradient's bmm has size-1
        # dimensions whose ambiguous strides let BLAS take another kernel for a stack of one.
        # Two exactly rounded ops, not a fused addcmul, whose kernels may or may not use FMA.
        return weights.w_out * hidden + weights.b_out
    return torch.baddbmm(weights.b_out, weights.w_out, hidden)


class LinearWeights(NamedTuple):
    """One weight set of M affine maps w x + b and their g(x) = neg_gamma x^3 (or sin x).

    Attributes:
        w: (M, D, D), contiguous. b: (M, D, 1). neg_gamma: (M, 1, 1), -gamma of each model.
        nonlinearity: "cubic" or "sine".
    """

    w: torch.Tensor
    b: torch.Tensor
    neg_gamma: torch.Tensor
    nonlinearity: str


def bind_linear(
    tensors: Mapping[str, torch.Tensor],
    k: SetIndex,
    config: ModelConfig,
    neg_gamma: torch.Tensor,
    *,
    scale: torch.Tensor | None = None,
) -> LinearWeights:
    """Weight set k of the stacked ``linear.*`` tensors; ``scale`` as in ``bind_mlp``."""
    w = weight_set(tensors["linear.w"], k)
    b = weight_set(tensors["linear.b"], k).unsqueeze(2)
    if scale is not None:
        w, b, neg_gamma = scale * w, scale * b, scale * neg_gamma
    return LinearWeights(w.contiguous(), b, neg_gamma, config.nonlinearity)


def affine(weights: LinearWeights, x: torch.Tensor) -> torch.Tensor:
    """w x + b of every model: (M, D, N) -> (M, D, N)."""
    return torch.baddbmm(weights.b, weights.w, x)


def small_nonlinearity(neg_gamma: torch.Tensor | float, nonlinearity: str, x: torch.Tensor):
    """g(x) = -gamma x^3 ("cubic") or -gamma sin(x) ("sine"), element-wise; ``neg_gamma`` is
    -gamma, a float or broadcastable (M, 1, 1)."""
    if nonlinearity == "cubic":
        return neg_gamma * x**3
    return neg_gamma * torch.sin(x)


def _uniform(shape: tuple[int, ...], bound: float, generator: torch.Generator) -> nn.Parameter:
    return nn.Parameter(torch.empty(shape).uniform_(-bound, bound, generator=generator))


class StackedMLP(nn.Module):
    """The parameters of K one-hidden-layer MLPs f_k(x, t) = W2_k act(W1_k [x, t] + b1_k) + b2_k.

    Shapes: w1 (K, width, D + time_input), b1 (K, width), w2 (K, D, width), b2 (K, D).
    ``time_input`` appends t as an extra input column (time mode "time"). Initialisation follows
    torch.nn.Linear (uniform with bound 1/sqrt(fan_in)). The maths is ``bind_mlp``/``apply_mlp``.
    """

    def __init__(self, config: ModelConfig, n_sets: int, generator: torch.Generator) -> None:
        super().__init__()
        d, width = config.dim, config.width
        fan_in = d + int(config.time_mode == "time")
        self.w1 = _uniform((n_sets, width, fan_in), 1 / math.sqrt(fan_in), generator)
        self.b1 = _uniform((n_sets, width), 1 / math.sqrt(fan_in), generator)
        self.w2 = _uniform((n_sets, d, width), 1 / math.sqrt(width), generator)
        self.b2 = _uniform((n_sets, d), 1 / math.sqrt(width), generator)


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
        """w_k x + b_k: (N, D) -> (N, D) (the affine part alone, for analysis)."""
        return torch.nn.functional.linear(x, self.w[k], self.b[k])
