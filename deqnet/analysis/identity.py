"""Near the identity (paper notes §5, §6): how far each layer is from I, and h(y) against y.

A layer of a discretised ODE is a small step from the identity: W_l = I + Δt w_l for a plain
feed-forward net (‖W_l − I‖ per layer), I + Δt ∂F/∂x for a ResNet block (its Jacobian), and the
activation h(y) = y + Δt g(y) is the identity plus a small bend that stays monotone only up to a
limit (``monotonicity_limit``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from deqnet.analysis.paths import lift_inputs, restore_nfe
from deqnet.analysis.volume import batch_jacobian
from deqnet.config import ModelConfig
from deqnet.models.base import DiscreteModel
from deqnet.models.feedforward import FeedForward


@dataclass(frozen=True, eq=False)
class LayerWeights:
    """How far each layer is from the identity map.

    Attributes:
        t: (L,) layer times t_l = l * dt.
        deviation: (L, D, D) W_l − I (kind "weights", feed-forward: x -> h(W_l x + B_l)) or the
            mean over the points of ∂x_{l+1}/∂x_l − I at their layer states (kind "jacobian",
            ResNet: a block has no single weight matrix).
        norm: (L,) ‖W_l − I‖, or the mean over the points of ‖∂x_{l+1}/∂x_l − I‖; spectral norms
            (the largest singular value).
        kind: "weights" or "jacobian".
        dt: the layer step T / L.
    """

    t: np.ndarray
    deviation: np.ndarray
    norm: np.ndarray
    kind: str
    dt: float


def layer_weights(net: DiscreteModel, x: np.ndarray | torch.Tensor | None = None) -> LayerWeights:
    """‖W_l − I‖ per layer of a feed-forward net; for a ResNet the layer Jacobians at the layer
    states of inputs x (N, 2) (required then). For W_l = I + dt w_l (``discretize`` of ruseckas)
    ‖W_l − I‖ = dt ‖w_l‖ → 0 as L grows."""
    t = np.arange(net.layers) * net.dt
    if isinstance(net, FeedForward):
        with torch.no_grad():
            weights = torch.stack(
                [net.linear.w[net.segment_of_layer(k)] for k in range(net.layers)]
            )
            dev = (weights - torch.eye(net.config.dim, dtype=weights.dtype)).double()
            norm = torch.linalg.matrix_norm(dev, ord=2)
        return LayerWeights(t, dev.numpy(), norm.numpy(), "weights", net.dt)
    if x is None:
        raise ValueError("a ResNet's layer Jacobians need inputs x (N, 2)")
    eye = torch.eye(net.config.dim, dtype=torch.float64)
    devs, norms = [], []
    with restore_nfe(net):
        with torch.no_grad():
            states = net.layer_states(lift_inputs(net, x))
        for k in range(net.layers):
            jac = batch_jacobian(lambda s, k=k: net.step(k, s), states[k]).double() - eye
            devs.append(jac.mean(dim=0))
            norms.append(torch.linalg.matrix_norm(jac, ord=2).mean())
    return LayerWeights(
        t, torch.stack(devs).numpy(), torch.stack(norms).numpy(), "jacobian", net.dt
    )


def monotonicity_limit(gamma: float, dt: float, nonlinearity: str = "cubic") -> float:
    """The |y| at which h(y) = y + dt g(y) has h'(y) = 0 (inf if it never has).

    Cubic g = −γy³: 1/√(3γΔt), and h decreases beyond it (γΔt = 1: h(1) = 0, h(1.5) = −1.875).
    Sine g = −γ sin y: arccos(1/(γΔt)) when γΔt ≥ 1, and h decreases *inside* it (|y| below it,
    and again every 2π).
    """
    gdt = float(gamma) * float(dt)
    if nonlinearity == "cubic":
        return 1.0 / math.sqrt(3.0 * gdt) if gdt > 0 else math.inf
    return math.acos(1.0 / gdt) if gdt >= 1 else math.inf


def activation(config: ModelConfig, dt: float, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """h(y) = y + dt g(y) and h'(y) (autograd) at y (M,), g the config's small nonlinearity."""
    with torch.enable_grad():
        yt = torch.as_tensor(np.asarray(y, dtype=np.float64)).requires_grad_(True)
        h = FeedForward.squash(-config.gamma, config.nonlinearity, dt, yt)
        (dh,) = torch.autograd.grad(h.sum(), yt)
    return h.detach().numpy(), dh.numpy()


@dataclass(frozen=True, eq=False)
class ActivationCurve:
    """A feed-forward net's activation h against the identity.

    Attributes:
        y: (M,) arguments, symmetric about 0.
        h, dh: (M,) h(y) and h'(y).
        limit: where h'(±limit) = 0 (``monotonicity_limit``; inf if never).
        gamma_dt: γΔt, the one number that shapes h.
        nonlinearity: "cubic" or "sine".
        preactivation: (2,) the smallest and largest W_l x_l + B_l component over the layers and
            the inputs given (NaN if none): the part of h the data actually use.
    """

    y: np.ndarray
    h: np.ndarray
    dh: np.ndarray
    limit: float
    gamma_dt: float
    nonlinearity: str
    preactivation: np.ndarray


def preactivation_range(net: FeedForward, x: np.ndarray | torch.Tensor) -> np.ndarray:
    """(2,) min and max over layers, inputs x (N, 2) and components of W_l x_l + B_l."""
    with torch.no_grad(), restore_nfe(net):
        states = net.layer_states(lift_inputs(net, x))
        pre = torch.stack(
            [net.linear(net.segment_of_layer(k), states[k]) for k in range(net.layers)]
        )
    finite = pre[torch.isfinite(pre)].double()
    if finite.numel() == 0:
        return np.array([np.nan, np.nan])
    return np.array([float(finite.min()), float(finite.max())])


def activation_curve(
    net: DiscreteModel, x: np.ndarray | torch.Tensor | None = None, n: int = 401
) -> ActivationCurve:
    """h(y) of a feed-forward net on n points covering the data's pre-activations (inputs x
    (N, 2), optional) and, when finite, twice the monotonicity limit."""
    if not isinstance(net, FeedForward):
        raise TypeError(f"only a feed-forward net has an activation h; got {net.config.family!r}")
    cfg = net.config
    limit = monotonicity_limit(cfg.gamma, net.dt, cfg.nonlinearity)
    pre = preactivation_range(net, x) if x is not None else np.array([np.nan, np.nan])
    reach = [2.0]
    if math.isfinite(limit):
        reach.append(1.6 * limit)
    if np.all(np.isfinite(pre)):
        reach.append(1.1 * float(np.abs(pre).max()))
    y = np.linspace(-max(reach), max(reach), n)
    h, dh = activation(cfg, net.dt, y)
    return ActivationCurve(y, h, dh, limit, cfg.gamma * net.dt, cfg.nonlinearity, pre)


__all__ = [
    "ActivationCurve",
    "LayerWeights",
    "activation",
    "activation_curve",
    "layer_weights",
    "monotonicity_limit",
    "preactivation_range",
]
