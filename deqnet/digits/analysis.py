"""What the digits page shows, as arrays: maps along depth, momentum, H, convergence, confusion.

The model trained is a conv net (``ConvFeedForward``); its ODE is ``continuize`` of it. The ODE is
always solved as a float64 copy with rk4 at ``STEPS_PER_LAYER`` steps per layer
(``reference_ode``): the layer times t_l are then solver grid points, and what differs between
the discrete and the continuous rows is the discretisation, not the solver (rk4's error at
Δt/16, O((Δt/16)⁴), is below 10⁻⁶ of the O(Δt) difference shown).

Momentum (notes §2–3): the discrete a_l = ∂ℓ/∂x_l is autograd through the layers
(back-propagation); the continuous a(t) comes from the adjoint ODE −da/dt = a ∂F/∂x integrated
backwards from a(T) = ∂ℓ/∂x(T) together with x (Hamilton's equations, as in
``deqnet.analysis.adjoint``). At t = 0 both are the input-gradient saliency of the digit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torchdiffeq import odeint

from deqnet.analysis import fit_power_law
from deqnet.digits.data import N_CLASSES
from deqnet.digits.models import (
    LIMITS,
    ConvFeedForward,
    ConvModel,
    ConvODE,
    continuize,
    discretize,
)
from deqnet.models.base import SolverFailure

STEPS_PER_LAYER = 16
# Layer counts of the convergence study (tied weights): each doubles the last.
CONVERGENCE_LAYERS = (10, 20, 40, 80, 160)


def network(model: ConvModel) -> ConvFeedForward:
    """The conv net itself, or the ODE's net with its configured ``layers``, as float64."""
    if isinstance(model, ConvFeedForward):
        return _copy(model, ConvFeedForward, model.config)
    return discretize(_copy(model, ConvODE, model.config), model.config.layers)


def reference_ode(model: ConvModel) -> ConvODE:
    """The ODE of ``model`` (itself, or ``continuize`` of a net) as a new float64 model solved
    with rk4 at ``STEPS_PER_LAYER`` · L steps; ``model`` is not touched."""
    ode = continuize(model) if isinstance(model, ConvFeedForward) else model
    config = ode.config.replace(solver="rk4", steps=STEPS_PER_LAYER * ode.config.layers)
    return _copy(ode, ConvODE, config)


def _copy(model: ConvModel, cls: type[ConvModel], config) -> ConvModel:
    copy = cls(config).to(torch.float64)
    copy.load_state_dict(model.state_dict())
    return copy


def layer_times(model: ConvModel) -> np.ndarray:
    """t_l = l Δt (L + 1,), l = 0 … L."""
    return np.linspace(0.0, model.config.T, model.config.layers + 1)


def _one(image: np.ndarray) -> torch.Tensor:
    """A digit (8, 8), (1, 8, 8) or (1, 1, 8, 8) as a (1, 1, 8, 8) float64 batch."""
    return torch.as_tensor(np.asarray(image, dtype=np.float64).reshape(1, 1, 8, 8))


@dataclass(frozen=True, eq=False)
class DepthMaps:
    """One digit's states and momenta along depth, discrete layers beside the ODE at t_l.

    Attributes:
        t: (L + 1,) layer times t_l = l Δt.
        x_net, x_ode: (L + 1, C, 8, 8) states x_l of the net and x(t_l) of the ODE.
        a_net, a_ode: (L + 1, C, 8, 8) momenta a_l = ∂ℓ/∂x_l and a(t_l) = ∂ℓ/∂x(t_l).
        H_net: (L + 1,) discrete H_l = a_{l+1}·(x_{l+1} − x_l)/Δt (H_L repeats H_{L−1}).
        H_ode: (L + 1,) H(t_l) = a·F(x(t_l), t_l) (at a segment bound, the later segment's F).
        label: the class ℓ is the cross-entropy of.
    """

    t: np.ndarray
    x_net: np.ndarray
    x_ode: np.ndarray
    a_net: np.ndarray
    a_ode: np.ndarray
    H_net: np.ndarray
    H_ode: np.ndarray
    label: int


class HamiltonianField(nn.Module):
    """Hamilton's equations on segment k for the state (x, a): dx/dt = F, da/dt = −a ∂F/∂x."""

    def __init__(self, model: ConvODE, segment: int) -> None:
        super().__init__()
        self.model = model
        self.segment = segment

    def forward(
        self, t: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x, a = state
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)
            field = self.model.segment_field(self.segment, x)
            # a ∂F/∂x is one vector-Jacobian product (images are independent rows).
            (vjp,) = torch.autograd.grad(field, x, a)
        return field.detach(), -vjp


def final_momentum(model: ConvModel, x_final: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """a(T) = ∂ℓ_i/∂x_i(T) (N, C, 8, 8), ℓ_i the cross-entropy of image i's own logits."""
    with torch.enable_grad():
        x_final = x_final.detach().requires_grad_(True)
        total = F.cross_entropy(model.logits(x_final), labels, reduction="sum")
        return torch.autograd.grad(total, x_final)[0]


def adjoint(
    model: ConvODE, x0: torch.Tensor, labels: torch.Tensor, times: Sequence[float]
) -> tuple[torch.Tensor, torch.Tensor]:
    """(x, a) at ``times`` (M,) ascending in [0, T], each (M, N, C, 8, 8), for x(0) (N, C, 8, 8).

    x(T) from the forward solve, a(T) by autograd through the readout, then (x, a) integrated
    backwards segment by segment with the model's own solver grid. Raises SolverFailure.
    """
    times = [float(t) for t in times]
    with torch.no_grad():
        x = model.flow(x0)
        a = final_momentum(model, x, labels)
        bounds = model.segment_bounds()
        found = {j: (x, a) for j, t in enumerate(times) if t >= bounds[-1]}
        for k in reversed(range(model.config.n_segments)):
            lo, hi = bounds[k], bounds[k + 1]
            inside = [j for j in reversed(range(len(times))) if lo < times[j] < hi]
            grid = torch.tensor([hi, *(times[j] for j in inside), lo], dtype=x0.dtype)
            try:
                xs, as_ = odeint(HamiltonianField(model, k), (x, a), grid, **model.solver_kwargs())
            except AssertionError as err:  # torchdiffeq signals failure with assert
                raise SolverFailure(str(err)) from err
            found.update({j: (xs[1 + i], as_[1 + i]) for i, j in enumerate(inside)})
            x, a = xs[-1], as_[-1]
            found.update({j: (x, a) for j, t in enumerate(times) if t == lo})
    if not all(torch.isfinite(v).all() for pair in found.values() for v in pair):
        raise SolverFailure("the momentum became infinite or NaN in the backward solve")
    return (
        torch.stack([found[j][0] for j in range(len(times))]),
        torch.stack([found[j][1] for j in range(len(times))]),
    )


def input_gradient(model: ConvModel, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """∂ℓ_i/∂x_i(0) (N, C, 8, 8) of images (N, 1, 8, 8), by autograd through the layers or the
    solver (the check on ``adjoint``)."""
    x0 = model.lift(torch.as_tensor(np.asarray(images))).requires_grad_(True)
    with torch.enable_grad():
        logits = model.logits(model.flow(x0))
        total = F.cross_entropy(logits, torch.as_tensor(labels), reduction="sum")
        return torch.autograd.grad(total, x0)[0].detach().numpy()


def _net_momentum(
    net: ConvFeedForward, x0: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    with torch.enable_grad():
        states = [x0.detach().requires_grad_(True)]
        for layer in range(net.layers):
            states.append(net.step(layer, states[-1]))
        total = F.cross_entropy(net.logits(states[-1]), labels, reduction="sum")
        a = torch.stack(torch.autograd.grad(total, states))
    x = torch.stack(states).detach()
    h = (a[1:] * (x[1:] - x[:-1])).flatten(2).sum(2) / net.dt
    return x, a, torch.cat([h, h[-1:]])


def depth_maps(model: ConvModel, image: np.ndarray, label: int) -> DepthMaps:
    """States, momenta and H of one digit (8, 8) along depth, net and ODE (see DepthMaps).

    ``label`` is the class whose loss the momentum is the gradient of (the true label shows
    what would make the net more right). Raises SolverFailure if the ODE solve fails.
    """
    net, ode = network(model), reference_ode(model)
    t = layer_times(model)
    x0 = net.lift(_one(image))
    labels = torch.tensor([int(label)])
    x_net, a_net, h_net = _net_momentum(net, x0, labels)
    x_back, a_ode = adjoint(ode, x0, labels, t.tolist())
    with torch.no_grad():
        x_ode = ode.solve(x0, t.tolist())
        # H of the (x, a) pair the backward solve integrated together: an exact path of
        # Hamilton's equations (x integrated back drifts from x_ode by the solver's error).
        fields = [ode.field(t_k, x_k) for t_k, x_k in zip(t.tolist(), x_back, strict=True)]
        h_ode = torch.stack(
            [(a_k * f).flatten(1).sum(1) for a_k, f in zip(a_ode, fields, strict=True)]
        )
    return DepthMaps(
        t=t,
        x_net=x_net[:, 0].numpy(),
        x_ode=x_ode[:, 0].numpy(),
        a_net=a_net[:, 0].numpy(),
        a_ode=a_ode[:, 0].numpy(),
        H_net=h_net[:, 0].numpy(),
        H_ode=h_ode[:, 0].numpy(),
        label=int(label),
    )


@dataclass(frozen=True, eq=False)
class Convergence:
    """‖x_L − x(T)‖ of the net against its ODE for several L at fixed T.

    Attributes:
        layers: (M,) layer counts L.
        errors: (M,) largest ℓ2 distance over the images between x_L and x(T) (all C · 64 values).
        slope, coefficient: the least-squares fit errors ≈ coefficient · L^slope (−1 expected).
    """

    layers: np.ndarray
    errors: np.ndarray
    slope: float
    coefficient: float


def convergence_layers(model: ConvModel) -> tuple[int, ...]:
    """L for the study: 10 … 160 (tied); untied K, 2K, 4K, … (multiples of the K weight sets)
    up to the largest allowed L."""
    k, high = model.config.n_segments, int(LIMITS["layers"][1])
    if k == 1:
        return CONVERGENCE_LAYERS
    return tuple(k * 2**j for j in range(5) if k * 2**j <= high)


def convergence(
    model: ConvModel, images: np.ndarray, layers: Sequence[int] | None = None
) -> Convergence:
    """Discretize the ODE of ``model`` at each L and measure ‖x_L − x(T)‖ on images (N, 1, 8, 8).

    The net at L is ``discretize(reference_ode, L)``: same w, b, γ and T, Δt = T / L.
    Raises SolverFailure if the ODE solve fails.
    """
    counts = convergence_layers(model) if layers is None else tuple(int(n) for n in layers)
    ode = reference_ode(model)
    with torch.no_grad():
        x0 = ode.lift(torch.as_tensor(np.asarray(images, dtype=np.float64)))
        x_final = ode.flow(x0)
        errors = [
            float((discretize(ode, n).flow(x0) - x_final).flatten(1).norm(dim=1).max())
            for n in counts
        ]
    slope, coefficient = fit_power_law(counts, errors)
    return Convergence(np.array(counts), np.array(errors), slope, coefficient)


def confusion_matrix(model: ConvModel, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Counts (10, 10) int64: row = true class, column = predicted class, of images (N, 1, 8, 8)."""
    with torch.no_grad():
        predicted = model(torch.as_tensor(images, dtype=model.dtype)).argmax(dim=1).numpy()
    counts = np.zeros((N_CLASSES, N_CLASSES), dtype=np.int64)
    np.add.at(counts, (np.asarray(labels, dtype=np.int64), predicted), 1)
    return counts


@dataclass(frozen=True)
class Prediction:
    """The net's answer for one digit: the most likely class, its probability, all ten."""

    digit: int
    probability: float
    probabilities: np.ndarray


def predict_digit(model: ConvModel, image: np.ndarray) -> Prediction:
    """The prediction for one digit (8, 8) (softmax of the logits)."""
    with torch.no_grad():
        probs = model(_one(image).to(model.dtype)).softmax(dim=1)[0].to(torch.float64).numpy()
    digit = int(probs.argmax())
    return Prediction(digit=digit, probability=float(probs[digit]), probabilities=probs)
