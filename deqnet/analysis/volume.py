"""Phase volume in x alone (paper notes §3.4): divergence of F and how the flow stretches space.

log|det dx(t)/dx(0)| = ∫_0^t Tr dF/dx along each path. All Jacobians are exact (autograd): the
points are independent, so row i of every point's Jacobian is one backward pass of
sum_n out[n, i], and D <= 5 backward passes give all of them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torchdiffeq import odeint

from deqnet.analysis.paths import (
    Trajectory,
    check_time,
    check_times,
    default_times,
    lift_inputs,
    nearest_layer,
    restore_nfe,
    to_numpy,
)
from deqnet.models.base import ContinuousModel, DeqModel, DiscreteModel, SolverFailure


def batch_jacobian(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Jacobians (N, D, D) of a pointwise map fn: (N, D) -> (N, D); J[n, i, j] = d fn_i / d x_j.

    Only x is differentiated (parameters get no .grad); the result carries no graph.
    """
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        out = fn(x)
        d = out.shape[1]
        rows = [
            torch.autograd.grad(out[:, i].sum(), x, retain_graph=i < d - 1)[0] for i in range(d)
        ]
    return torch.stack(rows, dim=1)


def _layer_log_det(model: DiscreteModel, layer: int, x: torch.Tensor) -> torch.Tensor:
    """log|det d x_{l+1} / d x_l| (N,) at states x (N, D)."""
    jac = batch_jacobian(lambda s: model.step(layer, s), x)
    return torch.linalg.slogdet(jac).logabsdet


def _field_trace(
    model: ContinuousModel, segment: int, t: torch.Tensor, x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """F(x, t) (N, D) with weight set ``segment`` and Tr dF/dx (N,), both without a graph."""
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        field = model.segment_field(segment, t, x)
        d = x.shape[1]
        trace = sum(
            torch.autograd.grad(field[:, i].sum(), x, retain_graph=i < d - 1)[0][:, i]
            for i in range(d)
        )
    return field.detach(), trace


def divergence(model: DeqModel, t: float, x_states: np.ndarray | torch.Tensor) -> np.ndarray:
    """Tr dF/dx (N,) at time t and states (N, D) (already lifted).

    Discrete models: log|det d x_{l+1}/d x_l| / dt of the layer l nearest t (l < L), the rate at
    which that layer changes log-volume.
    """
    t = check_time(model, t)
    x = torch.as_tensor(x_states, dtype=model.dtype).detach()
    if x.ndim != 2 or x.shape[1] != model.config.dim:
        raise ValueError(f"states must have shape (N, {model.config.dim}), got {tuple(x.shape)}")
    with restore_nfe(model):
        if isinstance(model, ContinuousModel):
            t_tensor = torch.as_tensor(t, dtype=model.dtype)
            div = _field_trace(model, model.segment_of(t), t_tensor, x)[1]
        else:
            div = _layer_log_det(model, nearest_layer(model, t), x) / model.dt
    return to_numpy(model, div)


class _VolumeField(nn.Module):
    """Augmented field d/dt [x, log v] = [F(x, t), Tr dF/dx] for one weight segment; (N, D + 1)."""

    def __init__(self, model: ContinuousModel, segment: int) -> None:
        super().__init__()
        self.model = model
        self.segment = segment

    def forward(self, t: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        field, trace = _field_trace(self.model, self.segment, t, state[:, :-1])
        return torch.cat([field, trace[:, None]], dim=1)


def _solve_volume(model: ContinuousModel, x0: torch.Tensor, times: np.ndarray) -> torch.Tensor:
    """log v (K, N) at ``times``, integrated segment by segment like ``ContinuousModel.solve``.

    The same solver and options as the model (``solver_kwargs``), so fixed-step solvers take the
    same grid; adaptive ones control the error of log v too.
    """
    times_t = torch.from_numpy(times)
    bounds = model.segment_bounds()
    at_bound = [torch.cat([x0, x0.new_zeros(x0.shape[0], 1)], dim=1)]
    inside: dict[int, torch.Tensor] = {}
    for k in range(model.config.n_segments):
        mask = (times_t > bounds[k]) & (times_t < bounds[k + 1])
        grid = torch.cat([bounds[k : k + 1], times_t[mask], bounds[k + 1 : k + 2]])
        try:
            sol = odeint(
                _VolumeField(model, k), at_bound[-1], grid.to(x0.dtype), **model.solver_kwargs()
            )
        except AssertionError as err:  # torchdiffeq signals failure with assert
            raise SolverFailure(str(err)) from err
        for i, j in enumerate(torch.nonzero(mask).flatten().tolist()):
            inside[j] = sol[1 + i]
        at_bound.append(sol[-1])
    bound_index = np.abs(times[:, None] - bounds.numpy()[None, :]).argmin(axis=1)
    states = [inside.get(j, at_bound[int(bound_index[j])]) for j in range(len(times))]
    return torch.stack(states)[:, :, -1]


def log_volume_change(
    model: DeqModel, x: np.ndarray | torch.Tensor, times: np.ndarray | None = None
) -> np.ndarray:
    """log|det dx(t)/dx(0)| (K, N) of each input's path (inputs (N, 2)).

    Continuous: ∫_0^t Tr dF/dx along each path at ``times`` (as in ``trajectory``, default
    ``default_times``), integrated alongside x with the model's solver. Discrete: the cumulative
    sum of log|det d x_{l+1}/d x_l| over the layers, at t_l = l * dt, l = 0 ... L.
    """
    x0 = lift_inputs(model, x)
    with torch.no_grad(), restore_nfe(model):
        if isinstance(model, ContinuousModel):
            t = check_times(model, default_times(model) if times is None else times)
            logv = _solve_volume(model, x0, t)
        else:
            states = model.layer_states(x0)
            per_layer = [_layer_log_det(model, k, states[k]) for k in range(model.layers)]
            logv = torch.cumsum(torch.stack([torch.zeros_like(per_layer[0]), *per_layer]), 0)
    return to_numpy(model, logv)


def jacobian_logdet(model: DeqModel, x: np.ndarray | torch.Tensor) -> np.ndarray:
    """log|det d x(T)/d x(0)| (N,) by autograd through the solver (or the layers)."""
    x0 = lift_inputs(model, x)
    with restore_nfe(model):
        jac = batch_jacobian(lambda s: model.flow(s), x0)
    return to_numpy(model, torch.linalg.slogdet(jac).logabsdet)


def cloud_log_volume(traj: Trajectory) -> np.ndarray:
    """½ log det of the covariance (D x D, all D components) of the cloud at each time: (K,).

    Up to a constant, the entropy of a Gaussian with the cloud's covariance; its change follows
    the mean divergence for a linear flow exactly. Augmented models (D > 2) start on a flat cloud
    (zero padding), whose value is -inf until the flow lifts the points off the plane.
    """
    x = np.asarray(traj.x, dtype=np.float64)
    centred = x - x.mean(axis=1, keepdims=True)
    cov = np.einsum("kni,knj->kij", centred, centred) / (x.shape[1] - 1)
    sign, logdet = np.linalg.slogdet(cov)
    return np.where(sign > 0, 0.5 * logdet, -np.inf)


def mean_divergence(model: DeqModel, traj: Trajectory) -> np.ndarray:
    """Mean over the points of ``divergence`` at each time of ``traj``: (K,).

    Discrete: at t_l the layer l (the last time t_L repeats layer L - 1, applied to x_L).
    """
    pairs = zip(traj.t, traj.x, strict=True)
    return np.array([divergence(model, t, states).mean() for t, states in pairs])
