"""Topology (paper notes §6): what a flow cannot do to the plane, and what a coarse net can.

The determinant of each layer map (a flow never makes it ≤ 0; a coarse network can), the part of
the plane a model turns over onto the rest (a fold: paths cross), the readout's straight line, the
disk-and-ring region on which a classifier is judged, and ``topology_snapshots``: where a model
carries that region at a few depths, with the numbers the topology lesson quotes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from deqnet.analysis.grids import GridFlow, deformed_grid
from deqnet.analysis.paths import check_times, lift_inputs, restore_nfe, trajectory
from deqnet.analysis.volume import batch_jacobian
from deqnet.models.base import DeqModel, DiscreteModel

# Concentric data (deqnet.datasets): class 0 on the disk r <= 0.5, class 1 on the ring 1..1.5.
DISK_RADIUS = 0.5
RING_RADII = (1.0, 1.5)
# The square around the disk and the ring (x0, x1, y0, y1).
REGION_BOX = (-RING_RADII[1], RING_RADII[1], -RING_RADII[1], RING_RADII[1])


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
    s = np.linspace(REGION_BOX[0], REGION_BOX[1], n)
    gx, gy = np.meshgrid(s, s)
    points = np.stack([gx.ravel(), gy.ravel()], axis=1)
    r = np.hypot(points[:, 0], points[:, 1])
    disk = r <= DISK_RADIUS
    ring = (r >= RING_RADII[0]) & (r <= RING_RADII[1])
    keep = disk | ring
    return points[keep].astype(np.float32), ring[keep].astype(np.int64)


def snapshot_depths(model: DeqModel, n: int = 5) -> tuple[np.ndarray, np.ndarray | None]:
    """At most n depths from 0 to T, and their layer numbers (discrete models: whole layers,
    evenly spread; continuous models: n uniform times and None)."""
    if isinstance(model, DiscreteModel):
        layers = np.unique(np.linspace(0, model.layers, min(n, model.layers + 1)).round())
        return layers * model.dt, layers.astype(np.int64)
    return np.linspace(0.0, model.config.T, n), None


def _rows_at(t: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Indices of ``times`` in the ascending grid ``t`` that contains them (a discrete model
    reports every layer time, whatever was asked; the tolerance absorbs rounding of l·Δt)."""
    return np.searchsorted(t, times - 1e-9)


@dataclass(frozen=True, eq=False)
class TopologySnapshots:
    """Where a 2-D model (D = 2) carries the disk and the ring, at K depths.

    Attributes:
        t: (K,) the depths, from 0 to T.
        layers: (K,) their layer numbers (discrete models), or None (continuous models).
        states: (K, M, 2) states of the M points of ``disk_and_ring_grid`` at those depths.
        labels: (M,) their classes (0 disk, 1 ring).
        grid: the image of a square grid of ``REGION_BOX`` at the same K depths.
        turned: (K, M) ``turned_over(...).turned`` at the same depths.
        boundary: (u, c) of ``linear_boundary``.
        turned_fraction: the fraction of the M points turned over at T.
        stretch: the largest |det ∂x(T)/∂x(0)| over the points (NaN ignored).
        crossed: the fraction of paths through a fold (``detect_crossings``; discrete models),
            or None.
    """

    t: np.ndarray
    layers: np.ndarray | None
    states: np.ndarray
    labels: np.ndarray
    grid: GridFlow
    turned: np.ndarray
    boundary: tuple[np.ndarray, float]
    turned_fraction: float
    stretch: float
    crossed: float | None


def topology_snapshots(
    model: DeqModel, n: int = 5, *, region_points: int = 41, grid_lines: int = 21
) -> TopologySnapshots:
    """``TopologySnapshots`` of a two-class model without extra dimensions at ``n`` depths
    (``snapshot_depths``), on an ``region_points`` x ``region_points`` grid of the disk and the
    ring and a ``grid_lines`` x ``grid_lines`` grid of the square around them.

    Raises SolverFailure if a solve gives up, ValueError for a model with D > 2 or more classes.
    """
    x, labels = disk_and_ring_grid(region_points)
    times, layers = snapshot_depths(model, n)
    traj = trajectory(model, x, times)
    folds = turned_over(model, x, times)
    grid = deformed_grid(model, REGION_BOX, n_lines=grid_lines, times=times)
    rows = _rows_at(traj.t, times)
    discrete = isinstance(model, DiscreteModel)
    return TopologySnapshots(
        t=times,
        layers=layers,
        states=traj.x[rows],
        labels=labels,
        grid=GridFlow(t=grid.t[rows], lines=grid.lines[rows]),
        turned=folds.turned[_rows_at(folds.t, times)],
        boundary=linear_boundary(model),
        turned_fraction=float(folds.turned[-1].mean()),
        stretch=float(np.nanmax(np.abs(folds.det[-1]))),
        crossed=float(detect_crossings(model, x).crossed.mean()) if discrete else None,
    )


def final_states(model: DeqModel, x: np.ndarray | torch.Tensor) -> np.ndarray:
    """x(T) (N, D) of inputs x (N, 2): the features the readout separates (D = 3 with one
    extra dimension, where a plane can cut the disk from the ring)."""
    return trajectory(model, x, np.array([0.0, model.config.T])).x[-1]


__all__ = [
    "DISK_RADIUS",
    "REGION_BOX",
    "RING_RADII",
    "Crossings",
    "TopologySnapshots",
    "TurnedOver",
    "detect_crossings",
    "disk_and_ring_grid",
    "final_states",
    "layer_determinants",
    "linear_boundary",
    "snapshot_depths",
    "topology_snapshots",
    "turned_over",
]
