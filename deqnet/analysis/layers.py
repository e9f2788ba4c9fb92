"""Depth ↔ time (paper notes §5, §6): a network's layers against the ODE it discretizes.

Every function works in both directions. A continuous model (node, ruseckas) *is* the ODE and
``discretize`` gives its L-layer network; a discrete model (resnet, feedforward) is read as the ODE
``continuize`` gives (the reverse direction), and its own layers are that ODE's L-layer network.
The ODE is always solved as a float64 copy with dopri5 at rtol = atol = 1e-10 (``reference_ode``),
so what is measured is the discretisation error, not the solver's.

Also here: the near-identity structure of the layers (‖W_l − I‖, the activation h(y) and where it
stops being monotone) and the topology lesson's tools: the determinant of each layer map (a flow
never makes it ≤ 0; a coarse network can), the part of the plane a model turns over onto the rest
(a fold: paths cross), and the disk-and-ring region on which a classifier is judged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from deqnet.analysis.adjoint import momentum, rebuild_model
from deqnet.analysis.checks import tight_copy
from deqnet.analysis.paths import check_times, lift_inputs, restore_nfe, trajectory
from deqnet.analysis.volume import batch_jacobian
from deqnet.config import LIMITS, ModelConfig
from deqnet.datasets import Dataset
from deqnet.maps import discretize
from deqnet.models.base import ContinuousModel, DeqModel, DiscreteModel
from deqnet.models.feedforward import FeedForward
from deqnet.models.layers import small_nonlinearity

# Layer counts of the convergence study (paper notes §7): each doubles the last.
CONVERGENCE_LAYERS = (10, 20, 40, 80, 160)
# Layer counts of the accuracy curve: the coarse end is where a network stops resembling its ODE.
ACCURACY_LAYERS = (1, 2, 3, 4, 6, 10, 20, 40, 80, 160)
# Concentric data (deqnet.datasets): class 0 on the disk r <= 0.5, class 1 on the ring 1..1.5.
DISK_RADIUS = 0.5
RING_RADII = (1.0, 1.5)


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
    as wrong."""
    labels = torch.as_tensor(y, dtype=torch.int64)
    with torch.no_grad(), restore_nfe(model):
        logits = model.readout(model.flow(lift_inputs(model, x)))
    right = (logits.argmax(dim=1) == labels) & torch.isfinite(logits).all(dim=1)
    return float(right.double().mean())


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
        h = yt + dt * small_nonlinearity(config, yt)
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


def layer_determinants(net: DiscreteModel, x: np.ndarray | torch.Tensor) -> np.ndarray:
    """det ∂x_{l+1}/∂x_l (L, N) of each layer at each input's layer state (inputs x (N, 2)).

    An ODE flow has det = exp(∫ Tr ∂F/∂x dt) > 0 everywhere; det ≤ 0 means the layer turns a
    neighbourhood over, so paths through it cross (the plane folds).
    """
    with restore_nfe(net):
        with torch.no_grad():
            states = net.layer_states(lift_inputs(net, x))
        dets = [
            torch.linalg.det(batch_jacobian(lambda s, k=k: net.step(k, s), states[k]))
            for k in range(net.layers)
        ]
    return torch.stack(dets).double().numpy()


@dataclass(frozen=True, eq=False)
class Crossings:
    """Which paths pass a fold of the network.

    Attributes:
        det: (L, N) ``layer_determinants``.
        crossed: (N,) True where some layer has det ≤ 0 at the path.
        first_layer: (N,) the first such layer l (the step x_l -> x_{l+1}), −1 if none.
    """

    det: np.ndarray
    crossed: np.ndarray
    first_layer: np.ndarray


def detect_crossings(net: DiscreteModel, x: np.ndarray | torch.Tensor) -> Crossings:
    """Paths of inputs x (N, 2) through a fold: det ∂x_{l+1}/∂x_l ≤ 0 at some layer."""
    det = layer_determinants(net, x)
    folded = ~(det > 0)  # NaN (an overflowing layer) counts as folded: no flow does that
    crossed = folded.any(axis=0)
    first = np.where(crossed, folded.argmax(axis=0), -1)
    return Crossings(det=det, crossed=crossed, first_layer=first)


@dataclass(frozen=True, eq=False)
class TurnedOver:
    """Where a model has turned the input plane over, at K times.

    Attributes:
        t: (K,) times (discrete: the layer times t_l = l * dt, l = 0 … L).
        det: (K, N) det ∂x(t)/∂x(0) at each input (discrete: the product of the layer
            determinants along the path so far, by the chain rule).
        turned: (K, N) True where det does not have the sign most of the N inputs have at that
            time (or is 0 or not finite): that part of the plane lies folded over onto the rest,
            so the paths from there have crossed their neighbours' paths. A flow has det > 0
            everywhere, and a mirror image (det < 0 everywhere) turns nothing over relative to
            the rest.
    """

    t: np.ndarray
    det: np.ndarray
    turned: np.ndarray


def _minority(det: np.ndarray) -> np.ndarray:
    """(K, N): True where det's sign differs from the majority sign of its row (0 and NaN too)."""
    positive = (det > 0).sum(axis=1, keepdims=True)
    negative = (det < 0).sum(axis=1, keepdims=True)
    return ~np.where(positive >= negative, det > 0, det < 0)


def turned_over(
    model: DeqModel, x: np.ndarray | torch.Tensor, times: np.ndarray | None = None
) -> TurnedOver:
    """``TurnedOver`` of inputs x (N, 2): sample the region of interest densely, the majority
    sign is taken over these inputs. Discrete: at every layer (``times`` ignored); continuous:
    at ``times`` (ascending in [0, T], default [T]), by autograd through the solver. Only for
    models without extra dimensions (D = 2)."""
    if model.config.dim != 2:
        raise ValueError("orientation in the plane needs a model without extra dimensions")
    if isinstance(model, DiscreteModel):
        layer_det = layer_determinants(model, x)
        det = np.cumprod(np.vstack([np.ones_like(layer_det[:1]), layer_det]), axis=0)
        t = np.linspace(0.0, model.config.T, model.layers + 1)
    else:
        T = model.config.T
        t = np.array([T]) if times is None else check_times(model, times)
        x0 = lift_inputs(model, x)
        rows = []
        with restore_nfe(model):
            for tk in t.tolist():
                if tk == 0.0:
                    rows.append(np.ones(len(x0)))
                    continue
                span = torch.tensor([0.0, tk], dtype=torch.float64)
                jac = batch_jacobian(lambda s, span=span: model.solve(s, span)[-1], x0)
                rows.append(torch.linalg.det(jac).double().numpy())
        det = np.stack(rows)
    return TurnedOver(t=t, det=det, turned=_minority(det))


def linear_boundary(model: DeqModel) -> tuple[np.ndarray, float]:
    """(u (D,), c) of a two-class readout: class 1 is predicted where u·x(T) + c > 0."""
    if model.n_classes != 2:
        raise ValueError(f"a single boundary needs 2 classes, got {model.n_classes}")
    w = model.readout.weight.detach().double()
    b = model.readout.bias.detach().double()
    return (w[1] - w[0]).numpy(), float(b[1] - b[0])


def disk_and_ring_grid(n: int = 121) -> tuple[np.ndarray, np.ndarray]:
    """Points (M, 2) of an n x n grid of [-1.5, 1.5]² that lie on the concentric data's disk
    (label 0) or ring (label 1), with their labels (M,): the whole region, not a sample."""
    s = np.linspace(-RING_RADII[1], RING_RADII[1], n)
    gx, gy = np.meshgrid(s, s)
    points = np.stack([gx.ravel(), gy.ravel()], axis=1)
    r = np.hypot(points[:, 0], points[:, 1])
    disk = r <= DISK_RADIUS
    ring = (r >= RING_RADII[0]) & (r <= RING_RADII[1])
    keep = disk | ring
    return points[keep].astype(np.float32), ring[keep].astype(np.int64)


__all__ = [
    "ACCURACY_LAYERS",
    "CONVERGENCE_LAYERS",
    "ActivationCurve",
    "Convergence",
    "Crossings",
    "TurnedOver",
    "DepthAccuracy",
    "LayerPaths",
    "LayerWeights",
    "accuracy",
    "accuracy_versus_layers",
    "activation",
    "activation_curve",
    "convergence_layers",
    "convergence_study",
    "detect_crossings",
    "disk_and_ring_grid",
    "fit_power_law",
    "layer_determinants",
    "layer_paths",
    "layer_weights",
    "linear_boundary",
    "monotonicity_limit",
    "network_of",
    "preactivation_range",
    "reference_ode",
    "turned_over",
    "valid_layers",
]
