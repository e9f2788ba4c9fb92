"""The paper's equation on images: a near-identity conv net (P3)/(P4) and its ODE (P1).

The state x is an image of C channels, (N, C, 8, 8): the input digit in channel 0 and zeros in
the others (the image version of ``augment``). ``ConvODE`` solves

    dx/dt = w_k ∗ x + b_k − γ x³        on segment k of K equal segments of [0, T],

where ∗ is a 3×3 convolution (padding 1) and b_k a per-channel bias; K = 1 is "tied"
(autonomous). ``ConvFeedForward`` is the plain network x_{l+1} = h(W_l ∗ x_l + B_l) with
h(y) = y − γΔt y³ and no skip connection. Convolution is linear in the kernel, so with I the
identity kernel (a 1 at the centre tap of channel c → c) the notes' (P3) ≡ (P4) holds verbatim
with W = I + Δt w and B = Δt b: ``discretize`` and ``continuize`` are these exact parameter maps.

Both end in the same linear readout on the flattened final state (C · 64 features → 10 logits):
the loss depends on x(T) through a linear classifier, as in (M1). No pooling: a near-identity
flow with 3×3 kernels moves information only a pixel or so per unit of time, so averaging the
final maps would throw away where the strokes are, which is most of what tells digits apart.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace

import torch
from torch import nn
from torch.nn import functional as F
from torchdiffeq import odeint

from deqnet.config import ConfigError
from deqnet.digits.data import N_CLASSES, SIDE
from deqnet.models.base import LayerStack, SolverFailure

SOLVERS = ("euler", "midpoint", "rk4")
KERNEL = 3
# Initial spread of w (per tap, divided by sqrt(fan-in = 9 C)) and of b: a gentle linear field,
# so the untrained network is close to the identity map, like the 2-D "ruseckas" family.
WEIGHT_STD = 0.5
BIAS_STD = 0.2
LIMITS: dict[str, tuple[float, float]] = {
    "channels": (1, 8),
    "layers": (1, 200),
    "T": (0.05, 10.0),
    "gamma": (0.0, 10.0),
    "steps": (1, 5000),
    "segments": (0, 200),
    "seed": (0, 2**31 - 1),
}


@dataclass(frozen=True)
class DigitsConfig:
    """Frozen, validated, hashable settings of a digits model.

    Attributes:
        channels: C, channels of the state (the digit fills channel 0, the rest start at zero).
        layers: L of the conv net (Δt = T / L); also K of an untied ODE when ``segments`` is 0.
        T: depth of the flow.
        tied: one weight set for all layers / all t (autonomous), else K weight sets.
        gamma: γ of g(x) = −γ x³ (a hyperparameter, not trained).
        solver: fixed-step torchdiffeq method of the ODE ("euler", "midpoint", "rk4").
        steps: solver steps over [0, T] (split evenly over the K segments, rounded up).
        seed: seed of the initial weights.
        segments: K weight sets when untied; 0 means one per layer (K = L).
    """

    channels: int = 4
    layers: int = 10
    T: float = 1.0
    tied: bool = True
    gamma: float = 0.1
    solver: str = "rk4"
    steps: int = 10
    seed: int = 0
    segments: int = 0

    def __post_init__(self) -> None:
        for name, (low, high) in LIMITS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not low <= value <= high:
                raise ConfigError(f"{name} must be between {low:g} and {high:g}, got {value!r}")
        if self.solver not in SOLVERS:
            raise ConfigError(f"solver must be one of {', '.join(SOLVERS)}, got {self.solver!r}")
        if self.tied and self.segments not in (0, 1):
            raise ConfigError(f"tied weights have one weight set, got segments={self.segments}")
        if self.layers % self.n_segments:
            raise ConfigError(
                f"layers ({self.layers}) must be a multiple of the weight sets "
                f"({self.n_segments}), so that every segment boundary is a layer"
            )

    @property
    def n_segments(self) -> int:
        """K, the number of weight sets (1 when tied)."""
        return 1 if self.tied else (self.segments or self.layers)

    @property
    def dt(self) -> float:
        return self.T / self.layers

    def replace(self, **changes) -> DigitsConfig:
        return replace(self, **changes)


def identity_kernel(channels: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """I (C, C, 3, 3): the kernel whose convolution is the identity (centre tap of c → c)."""
    eye = torch.zeros(channels, channels, KERNEL, KERNEL, dtype=dtype)
    eye[:, :, KERNEL // 2, KERNEL // 2] = torch.eye(channels, dtype=dtype)
    return eye


def conv(x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """kernel ∗ x + bias: (N, C, 8, 8) with kernel (C, C, 3, 3), bias (C,); zero padding 1."""
    return F.conv2d(x, kernel, bias, padding=KERNEL // 2)


class ConvModel(nn.Module, ABC):
    """The part both models share: lift (zero-padded channels) and the linear readout.

    Parameters: ``weight`` (K, C, C, 3, 3), ``bias`` (K, C) and ``readout`` (10, C · 64).
    ``initial_field`` gives the field's w0, b0 drawn from ``config.seed``; subclasses store them
    in their own parametrisation, so a net and an ODE built from one config are each other's
    ``discretize``/``continuize``.
    """

    def __init__(self, config: DigitsConfig) -> None:
        super().__init__()
        self.config = config
        generator = torch.Generator().manual_seed(config.seed)
        c, k = config.channels, config.n_segments
        std = WEIGHT_STD / math.sqrt(KERNEL * KERNEL * c)
        w0 = std * torch.randn(k, c, c, KERNEL, KERNEL, generator=generator)
        b0 = BIAS_STD * torch.randn(k, c, generator=generator)
        self.weight, self.bias = (nn.Parameter(p) for p in self.parametrise(w0, b0))
        features = c * SIDE * SIDE
        self.readout = nn.Linear(features, N_CLASSES)
        bound = 1.0 / math.sqrt(features)
        with torch.no_grad():
            self.readout.weight.uniform_(-bound, bound, generator=generator)
            self.readout.bias.uniform_(-bound, bound, generator=generator)

    @abstractmethod
    def parametrise(self, w: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The stored (weight, bias) for field parameters w (K, C, C, 3, 3), b (K, C)."""

    @property
    def dtype(self) -> torch.dtype:
        return self.readout.weight.dtype

    def lift(self, images: torch.Tensor) -> torch.Tensor:
        """Digits (N, 1, 8, 8) -> states x(0) (N, C, 8, 8), zero-padded, in the model's dtype."""
        images = torch.as_tensor(images, dtype=self.dtype)
        pad = images.new_zeros(images.shape[0], self.config.channels - 1, SIDE, SIDE)
        return torch.cat([images, pad], dim=1)

    def logits(self, x_final: torch.Tensor) -> torch.Tensor:
        """Logits (N, 10) of final states (N, C, 8, 8)."""
        return self.readout(x_final.flatten(1))

    @abstractmethod
    def flow(self, x0: torch.Tensor) -> torch.Tensor:
        """x(0) (N, C, 8, 8) -> x(T) (N, C, 8, 8)."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Logits (N, 10) of digits (N, 1, 8, 8)."""
        return self.logits(self.flow(self.lift(images)))


class ConvFeedForward(LayerStack, ConvModel):
    """L plain conv layers x_{l+1} = h(W_l ∗ x_l + B_l), h(y) = y − γΔt y³ (P4).

    ``weight`` holds W (K, C, C, 3, 3), initialised I + Δt w0 (so W − I = O(Δt)); ``bias`` holds
    B (K, C), initialised Δt b0. Layer l uses weight set l K / L (K = 1 tied, K = L untied).
    """

    def parametrise(self, w: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        dt = self.config.dt
        return identity_kernel(self.config.channels, w.dtype) + dt * w, dt * b

    def activation(self, y: torch.Tensor) -> torch.Tensor:
        """h(y) = y − γΔt y³, element-wise."""
        return y - self.config.gamma * self.dt * y**3

    def step(self, layer: int, x: torch.Tensor) -> torch.Tensor:
        """x_{l+1} (N, C, 8, 8) from x_l (N, C, 8, 8)."""
        k = self.segment_of_layer(layer)
        return self.activation(conv(x, self.weight[k], self.bias[k]))

    def flow(self, x0: torch.Tensor) -> torch.Tensor:
        x = x0
        for layer in range(self.layers):
            x = self.step(layer, x)
        return x


class _SegmentField(nn.Module):
    """torchdiffeq's ``func`` for segment k: (t, x) -> F(x) with weight set k."""

    def __init__(self, model: ConvODE, segment: int) -> None:
        super().__init__()
        self.model = model
        self.segment = segment

    def forward(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.model.segment_field(self.segment, x)


class ConvODE(ConvModel):
    """dx/dt = w_k ∗ x + b_k − γ x³ on segment k (P1), solved with a fixed-step torchdiffeq method.

    ``weight`` holds w (K, C, C, 3, 3) and ``bias`` b (K, C).
    """

    def parametrise(self, w: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return w, b

    def segment_field(self, segment: int, x: torch.Tensor) -> torch.Tensor:
        """F(x) (N, C, 8, 8) with weight set ``segment``."""
        return conv(x, self.weight[segment], self.bias[segment]) - self.config.gamma * x**3

    def segment_of(self, t: float) -> int:
        """The weight set in use at time t; t = T belongs to the last segment."""
        k = self.config.n_segments
        return min(int(math.floor(float(t) / self.config.T * k)), k - 1)

    def field(self, t: float, x: torch.Tensor) -> torch.Tensor:
        """F(x, t) (N, C, 8, 8); at a segment bound, the later segment's field."""
        return self.segment_field(self.segment_of(t), x)

    def segment_bounds(self) -> list[float]:
        """The K + 1 segment bounds from 0 to T."""
        k = self.config.n_segments
        return [self.config.T * j / k for j in range(k + 1)]

    def solver_kwargs(self) -> dict:
        """torchdiffeq options: the method on an exact linspace grid per segment (no step_size,
        whose rounding can add a spurious tiny last step)."""
        n = max(1, math.ceil(self.config.steps / self.config.n_segments))
        return {
            "method": self.config.solver,
            "options": {
                "grid_constructor": lambda f, y0, t: torch.linspace(
                    float(t[0]), float(t[-1]), n + 1, dtype=t.dtype
                )
            },
        }

    def solve(self, x0: torch.Tensor, times: list[float]) -> torch.Tensor:
        """States at ``times`` (M,) ascending in [0, T]: (M, N, C, 8, 8).

        One odeint call per segment from t = 0. A time between solver grid points gets
        torchdiffeq's interpolation; choose ``steps`` so the times are grid points for the exact
        discrete states. Raises SolverFailure if the state becomes non-finite.
        """
        bounds = self.segment_bounds()
        found: dict[int, torch.Tensor] = {j: x0 for j, t in enumerate(times) if t <= 0.0}
        x = x0
        for k in range(self.config.n_segments):
            lo, hi = bounds[k], bounds[k + 1]
            inside = [j for j, t in enumerate(times) if lo < t < hi]
            grid = torch.tensor([lo, *(times[j] for j in inside), hi], dtype=x0.dtype)
            try:
                sol = odeint(_SegmentField(self, k), x, grid, **self.solver_kwargs())
            except AssertionError as err:  # torchdiffeq signals failure with assert
                raise SolverFailure(str(err)) from err
            found.update({j: sol[1 + i] for i, j in enumerate(inside)})
            x = sol[-1]
            found.update({j: x for j, t in enumerate(times) if t == hi})
        if not torch.isfinite(x).all():
            raise SolverFailure("the hidden state became infinite or NaN inside the solver")
        return torch.stack([found[j] for j in range(len(times))])

    def flow(self, x0: torch.Tensor) -> torch.Tensor:
        return self.solve(x0, [0.0, self.config.T])[-1]


def _segments_field(config: DigitsConfig, layers: int) -> int:
    """``segments`` that keeps config's K weight sets at ``layers`` layers (0: one per layer)."""
    k = config.n_segments
    return 0 if config.tied or k == layers else k


def _rebuild(cls: type[ConvModel], source: ConvModel, config: DigitsConfig, w, b) -> ConvModel:
    target = cls(config).to(dtype=source.dtype)
    state = {k: v.detach().clone() for k, v in source.state_dict().items()}
    state["weight"], state["bias"] = w, b
    target.load_state_dict(state)
    return target


def discretize(model: ConvODE, layers: int) -> ConvFeedForward:
    """The L-layer conv net of a conv ODE: W_l = I + Δt w_k, B_l = Δt b_k, Δt = T / L (P4).

    Exact parameter map (no training); T, γ, the readout and the dtype are kept, and layer l uses
    the weight set of the segment holding t_l. Untied: L must be a multiple of K (ConfigError).
    """
    cfg = model.config
    config = cfg.replace(layers=int(layers), segments=_segments_field(cfg, int(layers)))
    dt = config.dt
    eye = identity_kernel(cfg.channels, model.dtype)
    w, b = model.weight.detach(), model.bias.detach()
    return _rebuild(ConvFeedForward, model, config, eye + dt * w, dt * b)


def continuize(model: ConvFeedForward, solver: str = "euler", steps: int | None = None) -> ConvODE:
    """The conv ODE a conv net discretizes: w_k = (W_k − I)/Δt, b_k = B_k/Δt (inverse of
    ``discretize``, exact up to the rounding of W − I).

    ``steps`` defaults to L, so that with "euler" the ODE is solved on the network's time grid.
    """
    cfg = model.config
    config = cfg.replace(
        solver=solver,
        steps=cfg.layers if steps is None else int(steps),
        segments=_segments_field(cfg, cfg.layers),
    )
    dt = cfg.dt
    eye = identity_kernel(cfg.channels, model.dtype)
    w, b = model.weight.detach(), model.bias.detach()
    return _rebuild(ConvODE, model, config, (w - eye) / dt, b / dt)
