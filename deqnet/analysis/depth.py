"""Depth ↔ time (paper notes §5, §7): a network's layers against the ODE it discretizes.

Every function works in both directions. A continuous model (node, ruseckas) *is* the ODE and
``discretize`` gives its L-layer network; a discrete model (resnet, feedforward) is read as the ODE
``continuize`` gives (the reverse direction), and its own layers are that ODE's L-layer network.
The ODE is always solved as a float64 copy with dopri5 at rtol = atol = 1e-10 (``reference_ode``),
so what is measured is the discretisation error, not the solver's: the layers on the ODE's paths,
the errors as L grows, and the accuracy against L.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from deqnet.analysis.adjoint import momentum, rebuild_model
from deqnet.analysis.checks import tight_copy
from deqnet.analysis.paths import lift_inputs, restore_nfe, trajectory
from deqnet.config import LIMITS
from deqnet.datasets import Dataset
from deqnet.losses import as_labels, score
from deqnet.maps import discretize
from deqnet.models.base import ContinuousModel, DeqModel, DiscreteModel

# Layer counts of the convergence study (paper notes §7): each doubles the last.
CONVERGENCE_LAYERS = (10, 20, 40, 80, 160)
# Layer counts of the accuracy curve: the coarse end is where a network stops resembling its ODE.
ACCURACY_LAYERS = (1, 2, 3, 4, 6, 10, 20, 40, 80, 160)


def reference_ode(model: DeqModel) -> ContinuousModel:
    """The ODE ``model`` is (continuous) or discretizes (discrete, via ``continuize``), as a new
    float64 model solved with dopri5 at rtol = atol = 1e-10; ``model`` is not touched."""
    return tight_copy(model)


def network_of(model: DeqModel, layers: int) -> DiscreteModel:
    """The L-layer network of ``model``'s ODE, float64 (a new model).

    For a discrete model with exactly ``layers`` layers this is a float64 copy of the model itself
    (its own weights, not a round trip through the ODE); otherwise ``discretize(reference_ode, L)``.
    Raises ConfigError for an invalid L (for piecewise weights L must be at least the segments).
    """
    if isinstance(model, DiscreteModel) and int(layers) == model.layers:
        return rebuild_model(model, dtype=torch.float64)
    return discretize(reference_ode(model), int(layers))


def valid_layers(model: DeqModel, counts: Sequence[int]) -> tuple[int, ...]:
    """The counts L of ``counts`` that ``network_of`` accepts: K <= L <= the largest allowed L,
    K the number of weight segments (1 unless piecewise)."""
    low, high = model.config.n_segments, int(LIMITS["layers"][1])
    return tuple(int(n) for n in counts if low <= int(n) <= high)


def convergence_layers(
    model: DeqModel, counts: Sequence[int] = CONVERGENCE_LAYERS
) -> tuple[int, ...]:
    """Layer counts for the convergence study: ``counts`` that are valid for ``model``, or, when
    fewer than three are (many weight segments K), K, 2K, 4K, ... up to the largest allowed L."""
    valid = valid_layers(model, counts)
    if len(valid) >= 3:
        return valid
    k, high = model.config.n_segments, int(LIMITS["layers"][1])
    return tuple(k * 2**j for j in range(int(math.log2(high / k)) + 1))


def fit_power_law(layers: Sequence[int], errors: Sequence[float]) -> tuple[float, float]:
    """(slope p, coefficient c) of the least-squares line log e = log c + p log L.

    Non-finite or non-positive errors are left out; with fewer than two left both are NaN.
    """
    n = np.asarray(layers, dtype=np.float64)
    e = np.asarray(errors, dtype=np.float64)
    keep = np.isfinite(e) & (e > 0)
    if keep.sum() < 2:
        return math.nan, math.nan
    slope, intercept = np.polyfit(np.log(n[keep]), np.log(e[keep]), 1)
    return float(slope), float(np.exp(intercept))


@dataclass(frozen=True, eq=False)
class LayerPaths:
    """ODE paths and a network's layer states of the same N inputs.

    Attributes:
        t: (K,) times of the ODE path, ascending from 0 to T; the layer times are among them.
        path: (K, N, D) ODE states x(t) (float64, tight solve).
        layer_t: (L + 1,) layer times t_l = l * dt.
        layers: (L + 1, N, D) layer states x_l of the L-layer network.
        gap: (L + 1, N) ‖x_l − x(t_l)‖, the distance of each layer from the path at its time.
    """

    t: np.ndarray
    path: np.ndarray
    layer_t: np.ndarray
    layers: np.ndarray
    gap: np.ndarray

    @property
    def dt(self) -> float:
        return float(self.layer_t[1] - self.layer_t[0])


def layer_paths(
    model: DeqModel, x: np.ndarray | torch.Tensor, layers: int, n_times: int = 201
) -> LayerPaths:
    """Inputs x (N, 2) through ``model``'s ODE (tight solve at ``n_times`` uniform times plus the
    layer times) and through its L-layer network (``network_of(model, layers)``).

    Raises SolverFailure if the tight solve gives up, ConfigError for an invalid L.
    """
    ode, net = reference_ode(model), network_of(model, layers)
    T = ode.config.T
    layer_t = np.linspace(0.0, T, net.layers + 1)
    uniform = np.linspace(0.0, T, n_times)
    # Uniform times within rounding of a layer time are that layer time (torchdiffeq needs
    # strictly increasing times).
    apart = np.abs(uniform[:, None] - layer_t[None, :]).min(axis=1) > 1e-6 * T
    times = np.union1d(layer_t, uniform[apart])
    path = trajectory(ode, x, times)
    states = trajectory(net, x).x
    at_layers = path.x[np.searchsorted(times, layer_t)]
    gap = np.linalg.norm(states - at_layers, axis=-1)
    return LayerPaths(t=path.t, path=path.x, layer_t=layer_t, layers=states, gap=gap)


@dataclass(frozen=True, eq=False)
class Convergence:
    """How an L-layer network approaches its ODE as L grows (paper notes §5, §7).

    Attributes:
        layers: (M,) layer counts L.
        state_error: (M,) mean over the points of ‖x_L − x(T)‖.
        adjoint_error: (M,) mean over the points of ‖a_0 − a(0)‖: back-propagation through the
            network against the adjoint ODE's momentum at t = 0.
        state_fit, adjoint_fit: (slope, coefficient) of the fitted power law error ≈ c L^slope;
            a first-order method has slope −1.
    """

    layers: np.ndarray
    state_error: np.ndarray
    adjoint_error: np.ndarray
    state_fit: tuple[float, float]
    adjoint_fit: tuple[float, float]


def convergence_study(
    model: DeqModel,
    x: np.ndarray | torch.Tensor,
    y: np.ndarray | torch.Tensor,
    layers: Sequence[int] = CONVERGENCE_LAYERS,
    loss: str = "cross_entropy",
) -> Convergence:
    """‖x_L − x(T)‖ and ‖a_0 − a(0)‖ for inputs x (N, 2), labels y (N,), at each L of ``layers``.

    x(T) and a(0) come from ``momentum`` on ``reference_ode(model)`` (the adjoint ODE integrated
    backwards), x_L and a_0 from ``momentum`` on ``discretize(reference_ode(model), L)``
    (autograd through the layers). Raises SolverFailure or ConfigError (invalid L).
    """
    ode = reference_ode(model)
    exact = momentum(ode, x, y, times=np.array([0.0, ode.config.T]), loss=loss)
    counts = np.array([int(n) for n in layers], dtype=np.int64)
    state, adjoint = [], []
    for n in counts:
        discrete = momentum(discretize(ode, int(n)), x, y, loss=loss)
        state.append(np.linalg.norm(discrete.x[-1] - exact.x[-1], axis=-1).mean())
        adjoint.append(np.linalg.norm(discrete.a[0] - exact.a[0], axis=-1).mean())
    state_error, adjoint_error = np.array(state), np.array(adjoint)
    return Convergence(
        layers=counts,
        state_error=state_error,
        adjoint_error=adjoint_error,
        state_fit=fit_power_law(counts, state_error),
        adjoint_fit=fit_power_law(counts, adjoint_error),
    )


def accuracy(model: DeqModel, x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor) -> float:
    """Fraction of inputs x (N, 2) whose most likely class is y (N,); non-finite logits count
    as wrong. For real targets y (regression) R² instead (``deqnet.losses.score``)."""
    labels = as_labels(y, model.dtype)
    with torch.no_grad(), restore_nfe(model):
        logits = model.readout(model.flow(lift_inputs(model, x)))
    return float(score(logits, labels))


@dataclass(frozen=True, eq=False)
class DepthAccuracy:
    """Accuracy of the L-layer network at each L, and of the ODE itself.

    Attributes:
        layers: (M,) layer counts L.
        train, test: (M,) accuracies (fractions) of the L-layer network.
        ode_train, ode_test: accuracies of the ODE (tight solve).
    """

    layers: np.ndarray
    train: np.ndarray
    test: np.ndarray
    ode_train: float
    ode_test: float


def accuracy_versus_layers(
    model: DeqModel, data: Dataset, layers: Sequence[int] = ACCURACY_LAYERS
) -> DepthAccuracy:
    """Train and test accuracy of ``network_of(model, L)`` for each L, and of ``reference_ode``.

    Raises SolverFailure (the tight solve) or ConfigError (an invalid L).
    """
    ode = reference_ode(model)
    counts = np.array([int(n) for n in layers], dtype=np.int64)
    nets = [network_of(model, int(n)) for n in counts]
    return DepthAccuracy(
        layers=counts,
        train=np.array([accuracy(net, data.x_train, data.y_train) for net in nets]),
        test=np.array([accuracy(net, data.x_test, data.y_test) for net in nets]),
        ode_train=accuracy(ode, data.x_train, data.y_train),
        ode_test=accuracy(ode, data.x_test, data.y_test),
    )


__all__ = [
    "ACCURACY_LAYERS",
    "CONVERGENCE_LAYERS",
    "Convergence",
    "DepthAccuracy",
    "LayerPaths",
    "accuracy",
    "accuracy_versus_layers",
    "convergence_layers",
    "convergence_study",
    "fit_power_law",
    "layer_paths",
    "network_of",
    "reference_ode",
    "valid_layers",
]
