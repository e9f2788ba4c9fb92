"""The momentum a(t) = dℓ/dx(t) (paper notes §2–3): the adjoint ODE, H = a·F, and dL/dθ, dL/dT.

Continuous models run Hamilton's equations (M8), dx/dt = F(x, t) and da/dt = -a ∂F/∂x, with
torchdiffeq and the model's own solver, one weight segment at a time (fixed-step solvers on the same
per-segment grid as ``ContinuousModel.solve``). The momentum is integrated backwards from
a(T) = dℓ/dx(T) *together with* x from the forward x(T): the pair (x, a) is then an exact path of
the Hamiltonian system, so H and the phase volume are tested on the system itself. The price: x
integrated backwards drifts from the forward path by the solver error amplified by the flow's
contraction (exp(-∫ Tr ∂F/∂x dt)); negligible for a tight solver, visible for a coarse one on a
strongly contracting trained flow. torchdiffeq's own adjoint instead resets x to the stored forward
states at each output time (maintainer's note on rtqichen/torchdiffeq#150).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torchdiffeq import odeint

from deqnet.analysis.paths import (
    check_times,
    default_times,
    lift_inputs,
    restore_nfe,
    to_numpy,
)
from deqnet.config import LIMITS
from deqnet.losses import as_labels, loss_per_point
from deqnet.models import build_model
from deqnet.models.base import ContinuousModel, DeqModel, DiscreteModel, SolverFailure

State = tuple[torch.Tensor, ...]
# Mean |H| below this is "no energy at all" (a point the model is certain about); relative
# changes of such a path are noise, not physics.
H_FLOOR = 1e-12


@dataclass(frozen=True, eq=False)
class Momentum:
    """Paths in phase space (x, a) of N points at K times.

    Attributes:
        t: (K,) times ascending from 0 to T (discrete: t_l = l * dt).
        x: (K, N, D) hidden states.
        a: (K, N, D) momenta a_i(t) = dℓ_i/dx_i(t) of each point's own loss ℓ_i.
        H: (K, N) Hamiltonian a·F (discrete: a_{l+1}·(x_{l+1} - x_l)/dt, see ``momentum``).
    """

    t: np.ndarray
    x: np.ndarray
    a: np.ndarray
    H: np.ndarray


class HamiltonianField(nn.Module):
    """Hamilton's equations on weight segment k, a torchdiffeq ``func`` on the state (x, a, *g).

    dx/dt = F(x, t), da/dt = -a ∂F/∂x (M3), and for each parameter θ in ``params``
    dg/dt = -a ∂F/∂θ: integrated backwards from g(T) = 0 it ends at g(0) = ∫_0^T a ∂F/∂θ dt (M4).
    ``create_graph`` keeps the right-hand side differentiable, for Jacobians of the flow itself.
    """

    def __init__(
        self,
        model: ContinuousModel,
        segment: int,
        *,
        params: tuple[nn.Parameter, ...] = (),
        create_graph: bool = False,
    ) -> None:
        super().__init__()
        self.model = model
        self.segment = segment
        self.params = params
        self.create_graph = create_graph

    def forward(self, t: torch.Tensor, state: State) -> State:
        x, a = state[0], state[1]
        with torch.enable_grad():
            if not self.create_graph:
                x = x.detach().requires_grad_(True)
            field = self.model.segment_field(self.segment, t, x)
            # a ∂F/∂x is a vector-Jacobian product; rows are independent points, so one pass.
            grads = torch.autograd.grad(
                field,
                (x, *self.params),
                a,
                create_graph=self.create_graph,
                materialize_grads=True,
            )
        if not self.create_graph:
            field = field.detach()
        return (field, *(-g for g in grads))


def hamiltonian_solve(
    model: ContinuousModel,
    state: State,
    times: list[float],
    *,
    params: tuple[nn.Parameter, ...] = (),
    create_graph: bool = False,
) -> list[State]:
    """States of ``HamiltonianField`` at ``times`` (M,), started from ``state`` at times[0].

    ``times`` is strictly monotone (decreasing integrates backwards) and already snapped onto the
    segment bounds (``check_times``). One odeint call per weight segment crossed, with the model's
    solver options, so across a whole segment a fixed-step solver takes the very grid the forward
    solve takes (a partly crossed segment gets the same number of steps over the shorter span).
    Raises SolverFailure if torchdiffeq gives up.
    """
    bounds = model.segment_bounds().tolist()
    lo, hi = min(times[0], times[-1]), max(times[0], times[-1])
    pieces = []
    for k in range(model.config.n_segments):
        start, end = max(bounds[k], lo), min(bounds[k + 1], hi)
        if end > start:
            pieces.append((k, start, end))
    if times[-1] < times[0]:
        pieces = [(k, end, start) for k, start, end in reversed(pieces)]
    out = {0: state}
    for k, start, end in pieces:
        inside = [j for j, t in enumerate(times) if min(start, end) < t < max(start, end)]
        grid = torch.tensor([start, *(times[j] for j in inside), end], dtype=state[0].dtype)
        func = HamiltonianField(model, k, params=params, create_graph=create_graph)
        try:
            sol = odeint(func, state, grid, **model.solver_kwargs())
        except AssertionError as err:  # torchdiffeq signals failure with assert
            raise SolverFailure(str(err)) from err
        out.update({j: tuple(c[1 + i] for c in sol) for i, j in enumerate(inside)})
        state = tuple(c[-1] for c in sol)
        out.update({j: state for j, t in enumerate(times) if t == end})
    return [out[j] for j in range(len(times))]


def final_momentum(
    model: DeqModel, x_final: torch.Tensor, y: torch.Tensor, loss: str = "cross_entropy"
) -> torch.Tensor:
    """a(T) = dℓ_i/dx_i(T) (N, D) at final states (N, D), by autograd through the readout.

    Points are independent, so the gradient of Σ_i ℓ_i gives every point's own dℓ_i/dx_i.
    """
    with torch.enable_grad():
        x_final = x_final.detach().requires_grad_(True)
        total = loss_per_point(model.readout(x_final), y, loss).sum()
        return torch.autograd.grad(total, x_final)[0]


def require_continuous(model: DeqModel, what: str) -> None:
    """TypeError naming ``what`` unless ``model`` is an ODE model."""
    if not isinstance(model, ContinuousModel):
        raise TypeError(
            f"{what} needs a continuous model (node, ruseckas); got {model.config.family!r} "
            "(deqnet.continuize turns a network into its ODE)"
        )


def _continuous_momentum(
    model: ContinuousModel, x0: torch.Tensor, y: torch.Tensor, times: np.ndarray, loss: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    T = model.config.T
    x_final = model.flow(x0)
    a_final = final_momentum(model, x_final, y, loss)
    # Backwards from T: the requested times in decreasing order, T first whether asked for or not.
    backwards = [T, *(t for t in times[::-1].tolist() if t != T)]
    states = hamiltonian_solve(model, (x_final, a_final), backwards)
    by_time = dict(zip(backwards, states, strict=True))
    x = torch.stack([by_time[t][0] for t in times.tolist()])
    a = torch.stack([by_time[t][1] for t in times.tolist()])
    # At a segment bound F is the later segment's (``segment_of``): H's value just after a jump.
    H = torch.stack(
        [(a_k * model.field(t, x_k)).sum(1) for t, x_k, a_k in zip(times, x, a, strict=True)]
    )
    return x, a, H


def _discrete_momentum(
    model: DiscreteModel, x0: torch.Tensor, y: torch.Tensor, loss: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    with torch.enable_grad():
        states = [x0.detach().requires_grad_(True)]
        for layer in range(model.layers):
            states.append(model.step(layer, states[-1]))
        total = loss_per_point(model.readout(states[-1]), y, loss).sum()
        # Gradients w.r.t. every intermediate state: back-propagation's a_l, no .grad side effects.
        a = torch.stack(torch.autograd.grad(total, states))
    x = torch.stack(states).detach()
    h = (a[1:] * (x[1:] - x[:-1])).sum(2) / model.dt
    return x, a, torch.cat([h, h[-1:]])


def momentum(
    model: DeqModel,
    x: np.ndarray | torch.Tensor,
    y: np.ndarray | torch.Tensor,
    times: np.ndarray | None = None,
    loss: str = "cross_entropy",
) -> Momentum:
    """Phase-space paths (x(t), a(t)) and H of inputs x (N, 2) with labels y (N,).

    Continuous: states and momenta at ``times`` (ascending in [0, T]; default ``default_times``),
    from the joint backward solve described in the module docstring; H = a·F(x, t), with F at a
    segment bound taken from the later segment. Conserved for autonomous F, constant within each
    segment for piecewise weights, drifting (dH/dt = ∂H/∂t) for time input.

    Discrete (``times`` ignored): a_l = dℓ/dx_l by autograd through the layers (back-propagation
    is the discrete adjoint), t_l = l * dt, and the discrete Hamiltonian
    H_l = a_{l+1}·(x_{l+1} - x_l)/dt, l < L: the momentum after the layer times the layer's
    velocity, the pairing in the discrete action Σ_l a_{l+1}·(x_{l+1} - x_l - dt F_l). H_L repeats
    H_{L-1}. It is conserved only up to O(dt) for tied weights (a modified Hamiltonian is exact).

    Raises SolverFailure if the solver gives up.
    """
    x0 = lift_inputs(model, x)
    labels = as_labels(y, model.dtype)
    with torch.no_grad(), restore_nfe(model):
        if isinstance(model, ContinuousModel):
            t = check_times(model, default_times(model) if times is None else times)
            xs, a, H = _continuous_momentum(model, x0, labels, t, loss)
        else:
            t = default_times(model)
            xs, a, H = _discrete_momentum(model, x0, labels, loss)
    return Momentum(t=t, x=to_numpy(model, xs), a=to_numpy(model, a), H=to_numpy(model, H))


def autograd_input_gradient(
    model: DeqModel,
    x: np.ndarray | torch.Tensor,
    y: np.ndarray | torch.Tensor,
    loss: str = "cross_entropy",
) -> np.ndarray:
    """dℓ_i/dx_i(0) (N, D) by autograd through the solver (or the layers), inputs x (N, 2)."""
    x0 = lift_inputs(model, x).requires_grad_(True)
    with torch.enable_grad(), restore_nfe(model):
        total = loss_per_point(model.readout(model.flow(x0)), as_labels(y, model.dtype), loss).sum()
        grad = torch.autograd.grad(total, x0)[0]
    return to_numpy(model, grad)


def _flow_named_parameters(model: DeqModel) -> list[tuple[str, nn.Parameter]]:
    return [(n, p) for n, p in model.named_parameters() if not n.startswith("readout.")]


def adjoint_parameter_gradients(
    model: ContinuousModel,
    x: np.ndarray | torch.Tensor,
    y: np.ndarray | torch.Tensor,
    loss: str = "cross_entropy",
) -> dict[str, np.ndarray]:
    """dL/dθ = ∫_0^T a ∂F/∂θ dt (M4) for each flow parameter, L the mean loss of x (N, 2), y (N,).

    The integral is a third component of the backward Hamiltonian solve (the augmented system
    odeint_adjoint integrates; written out here so the page shows (M4) itself). Returns
    {parameter name: gradient with the parameter's shape}; continuous models only.
    """
    require_continuous(model, "adjoint_parameter_gradients")
    names, params = zip(*_flow_named_parameters(model), strict=True)
    x0 = lift_inputs(model, x)
    labels = as_labels(y, model.dtype)
    with torch.no_grad(), restore_nfe(model):
        x_final = model.flow(x0)
        a_final = final_momentum(model, x_final, labels, loss) / len(labels)
        start = (x_final, a_final, *(torch.zeros_like(p) for p in params))
        end = hamiltonian_solve(model, start, [model.config.T, 0.0], params=params)[-1]
    return {name: to_numpy(model, g) for name, g in zip(names, end[2:], strict=True)}


def autograd_parameter_gradients(
    model: DeqModel,
    x: np.ndarray | torch.Tensor,
    y: np.ndarray | torch.Tensor,
    loss: str = "cross_entropy",
) -> dict[str, np.ndarray]:
    """dL/dθ by autograd through the solver (or layers) for each flow parameter; L = mean loss."""
    names, params = zip(*_flow_named_parameters(model), strict=True)
    x0 = lift_inputs(model, x)
    with torch.enable_grad(), restore_nfe(model):
        logits = model.readout(model.flow(x0))
        mean_loss = loss_per_point(logits, as_labels(y, model.dtype), loss).mean()
        grads = torch.autograd.grad(mean_loss, params, materialize_grads=True)
    return {name: to_numpy(model, g) for name, g in zip(names, grads, strict=True)}


def rebuild_model(model: DeqModel, dtype: torch.dtype | None = None, **changes) -> DeqModel:
    """A new model with ``config.replace(**changes)`` and ``model``'s weights (same or ``dtype``).

    Parameters never depend on T or on the solver, so the state dict always loads.
    """
    copy = build_model(model.config.replace(**changes), model.n_classes)
    copy = copy.to(dtype=dtype or model.dtype)
    copy.load_state_dict(model.state_dict())
    return copy


def _mean_loss(model: DeqModel, x0: torch.Tensor, y: torch.Tensor, loss: str) -> float:
    return float(loss_per_point(model.readout(model.flow(x0)), y, loss).mean())


def depth_sensitivity(
    model: ContinuousModel,
    x: np.ndarray | torch.Tensor,
    y: np.ndarray | torch.Tensor,
    eps: float = 1e-4,
    loss: str = "cross_entropy",
) -> tuple[float, float]:
    """(mean_i H_i(T), dL/dT by finite differences) for inputs x (N, 2), labels y (N,).

    The loss at T ± eps comes from models rebuilt with that T and the same weights: a central
    difference, or the second-order one-sided one (3L(T) - 4L(T-eps) + L(T-2eps)) / 2eps when
    T + eps exceeds the largest allowed T. The two agree when deepening only extends the same
    field (autonomous or time input); piecewise weights stretch every segment instead, and then
    dL/dT is the mean over segments of H. Raises SolverFailure if the solver gives up.
    """
    require_continuous(model, "depth_sensitivity")
    T = model.config.T
    x0 = lift_inputs(model, x)
    labels = as_labels(y, model.dtype)
    with torch.no_grad(), restore_nfe(model):
        x_final = model.flow(x0)
        a_final = final_momentum(model, x_final, labels, loss)
        h_final = float((a_final * model.field(T, x_final)).sum(1).mean())

        def loss_at(depth: float) -> float:
            if depth == T:
                return _mean_loss(model, x0, labels, loss)
            return _mean_loss(rebuild_model(model, T=depth), x0, labels, loss)

        if T + eps <= LIMITS["T"][1]:
            fd = (loss_at(T + eps) - loss_at(T - eps)) / (2 * eps)
        else:
            fd = (3 * loss_at(T) - 4 * loss_at(T - eps) + loss_at(T - 2 * eps)) / (2 * eps)
    return h_final, fd


@dataclass(frozen=True)
class EnergyVariation:
    """How much H = a·F changes along the paths, relative to each path's mean |H|.

    Attributes:
        overall: max over points of peak-to-peak of H_i over the whole path / mean |H_i|.
        within: the same, but peak-to-peak taken inside each weight segment (max over segments);
            equals ``overall`` for a single segment.
        jump: max over points and segment boundaries of the change of H's mean level from one
            segment to the next / mean |H_i|; 0 for a single segment.
    """

    overall: float
    within: float
    jump: float


def energy_variation(H: np.ndarray, segments: np.ndarray | None = None) -> EnergyVariation:
    """Relative variation of H (K, N) along each of N paths; ``segments`` (K,) labels each time
    with its weight segment (non-decreasing ints; None: one segment).

    Paths whose mean |H| is below H_FLOOR are left out (a zero energy has no relative change);
    if all are, every number is 0.
    """
    h = np.asarray(H, dtype=np.float64)
    seg = np.zeros(len(h), dtype=np.int64) if segments is None else np.asarray(segments)
    size = np.abs(h).mean(axis=0)
    alive = np.isfinite(size) & (size > H_FLOOR)
    if not alive.any():
        return EnergyVariation(0.0, 0.0, 0.0)
    h, size = h[:, alive], size[alive]
    overall = float(np.max(np.ptp(h, axis=0) / size))
    labels = np.unique(seg)
    within = max(float(np.max(np.ptp(h[seg == s], axis=0) / size)) for s in labels)
    levels = np.stack([h[seg == s].mean(axis=0) for s in labels])  # (segments, N)
    jump = float(np.max(np.abs(np.diff(levels, axis=0)) / size)) if len(labels) > 1 else 0.0
    return EnergyVariation(overall, within, jump)
