"""Hidden-state paths through depth: x(t) for continuous models, the layer states for discrete ones.

Also the small shared plumbing of the analysis package: lifting raw inputs, leaving the model's NFE
counter as it was, and turning tensors into NumPy arrays in the model's precision.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from deqnet.losses import as_labels, loss_per_point
from deqnet.models.base import ContinuousModel, DeqModel, DiscreteModel

# Times closer than this (relative to T) are one time: the uniform plot grid and the solver grid
# overlap up to rounding, and a float32 model cannot tell them apart (torchdiffeq then rejects a
# time grid that is not strictly increasing).
TIME_TOLERANCE = 1e-6


@dataclass(frozen=True, eq=False)
class Trajectory:
    """States of N paths at K times.

    Attributes:
        t: (K,) float64 times, ascending from 0 to T (discrete models: t_l = l * dt).
        x: (K, N, D) states, float64 if the model is double, else float32.
    """

    t: np.ndarray
    x: np.ndarray


@contextmanager
def restore_nfe(model: DeqModel) -> Iterator[None]:
    """Run a block and then put ``model.nfe`` back: analysis is not training work."""
    nfe = model.nfe
    try:
        yield
    finally:
        model.nfe = nfe


def lift_inputs(model: DeqModel, x: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Raw inputs (N, 2) as detached states (N, D) in the model's dtype."""
    x = torch.as_tensor(x).detach()
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"inputs must have shape (N, 2), got {tuple(x.shape)}")
    return model.lift(x)


def to_numpy(model: DeqModel, tensor: torch.Tensor) -> np.ndarray:
    """A detached copy as NumPy: float64 if the model is double, else float32."""
    dtype = np.float64 if model.dtype == torch.float64 else np.float32
    return tensor.detach().cpu().numpy().astype(dtype)


def check_time(model: DeqModel, t: float) -> float:
    """t as a float, if it lies in [0, T] (up to rounding, then clipped); else ValueError."""
    T = model.config.T
    t = float(t)
    if not -TIME_TOLERANCE * T <= t <= (1 + TIME_TOLERANCE) * T:
        raise ValueError(f"t={t:g} is outside [0, T] = [0, {T:g}]")
    return min(max(t, 0.0), T)


def nearest_layer(model: DiscreteModel, t: float) -> int:
    """The layer l < L whose time l * dt is nearest to t."""
    return int(np.clip(round(float(t) / model.dt), 0, model.layers - 1))


def default_times(model: DeqModel, n: int = 41) -> np.ndarray:
    """Times (K,) float64 at which to show a path.

    Continuous: the solver grid (where fixed-step states are exact, not interpolated) united with
    ``n`` uniform times on [0, T]; uniform times within rounding of a grid time are dropped.
    Discrete: the layer times t_l = l * dt, l = 0 ... L.
    """
    T = model.config.T
    if not isinstance(model, ContinuousModel):
        return np.linspace(0.0, T, model.config.layers + 1)
    grid = model.solver_grid().numpy().astype(np.float64)
    uniform = np.linspace(0.0, T, n)
    gap = np.abs(uniform[:, None] - grid[None, :]).min(axis=1)
    return np.sort(np.concatenate([grid, uniform[gap > TIME_TOLERANCE * T]]))


def check_times(model: ContinuousModel, times: np.ndarray | torch.Tensor) -> np.ndarray:
    """Validated times (K,) float64; times within rounding of a segment bound snap onto it.

    Snapping matters because ``model.solve`` puts a time strictly inside a segment on that
    segment's own time grid, next to the bound, and the two must stay distinct in the model dtype.
    """
    T = model.config.T
    t = torch.as_tensor(times).detach().cpu().numpy().astype(np.float64).reshape(-1)
    tol = TIME_TOLERANCE * T
    if t.size == 0 or not np.all(np.isfinite(t)) or t.min() < -tol or t.max() > T + tol:
        raise ValueError(f"times must be finite and lie in [0, T] = [0, {T:g}]")
    bounds = model.segment_bounds().numpy()
    nearest = bounds[np.abs(t[:, None] - bounds[None, :]).argmin(axis=1)]
    t = np.where(np.abs(t - nearest) <= tol, nearest, t)
    if np.any(np.diff(t) <= tol):
        raise ValueError("times must be strictly increasing (and not closer than rounding)")
    return t


def trajectory(
    model: DeqModel, x: np.ndarray | torch.Tensor, times: np.ndarray | None = None
) -> Trajectory:
    """Paths of the inputs x (N, 2) through the model.

    Continuous: states at ``times`` (ascending in [0, T]; default ``default_times(model)``),
    integrated segment by segment with the model's own solver (fixed-step solvers interpolate
    linearly between grid times). Discrete: the layer states x_0 ... x_L; ``times`` is ignored.
    Raises SolverFailure if the solver gives up.
    """
    x0 = lift_inputs(model, x)
    with torch.no_grad(), restore_nfe(model):
        if isinstance(model, ContinuousModel):
            t = check_times(model, default_times(model) if times is None else times)
            states = model.solve(x0, torch.from_numpy(t))
        else:
            t = default_times(model)
            states = model.layer_states(x0)
    return Trajectory(t=t, x=to_numpy(model, states))


def per_sample_loss(
    model: DeqModel,
    x: np.ndarray | torch.Tensor,
    y: np.ndarray | torch.Tensor,
    loss: str = "cross_entropy",
) -> np.ndarray:
    """Loss ℓ_i (N,) of each input x_i (N, 2) with label (or regression target) y_i (N,)."""
    x0 = lift_inputs(model, x)
    labels = as_labels(y, model.dtype)
    with torch.no_grad(), restore_nfe(model):
        logits = model.readout(model.flow(x0))
        return to_numpy(model, loss_per_point(logits, labels, loss))
