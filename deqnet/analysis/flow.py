"""The flow of the input plane for one model: paths of a point sample, the deformed grid, and
how the flow changes volume (the Trajectories pictures' numbers, computed in one call).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deqnet.analysis.grids import Extent, GridFlow, deformed_grid
from deqnet.analysis.paths import Trajectory, trajectory
from deqnet.analysis.volume import cloud_log_volume, log_volume_change, mean_divergence
from deqnet.datasets import Dataset
from deqnet.models import DeqModel


def sample_rows(n_rows: int, n: int, seed: int = 0) -> np.ndarray:
    """(min(n, n_rows),) distinct row indices in a random order fixed by ``seed``."""
    return np.random.default_rng(seed).permutation(n_rows)[:n]


@dataclass(frozen=True)
class PlaneFlow:
    """Paths of a sample of training points, the deformed grid and the volume statistics.

    Attributes:
        traj: t (K,), x (K, N, D): paths of the sample; the first ``drawn`` of them are the
            ones to draw.
        labels: (N,) classes (regression: targets) of the sample.
        grid: the deformed grid of the plot box at the trajectory's times.
        mean_div: (K,) mean divergence over the sample.
        log_volume: (K, N) exact log|det dx(t)/dx(0)| of each sample path.
        cloud: (K,) Gaussian log-volume of the sample's cloud (-inf while it is flat).
        drawn: how many of the sample's paths are drawn.
    """

    traj: Trajectory
    labels: np.ndarray
    grid: GridFlow
    mean_div: np.ndarray
    log_volume: np.ndarray
    cloud: np.ndarray
    drawn: int

    @property
    def drawn_traj(self) -> Trajectory:
        """t (K,), x (K, drawn, D): the paths to draw."""
        return Trajectory(t=self.traj.t, x=self.traj.x[:, : self.drawn])

    @property
    def drawn_labels(self) -> np.ndarray:
        """(drawn,) classes of the paths to draw."""
        return self.labels[: self.drawn]

    @property
    def cloud_starts_flat(self) -> bool:
        """True if the cloud has no volume at t = 0 (an augmented state starts on a plane)."""
        return not np.isfinite(self.cloud[0])

    def drawn_at(self, t: float) -> np.ndarray:
        """(drawn, D) states of the drawn paths at the trajectory time nearest ``t``."""
        k = int(np.abs(self.traj.t - t).argmin())
        return self.traj.x[k, : self.drawn]


def plane_flow(
    model: DeqModel, data: Dataset, extent: Extent, *, points: int, drawn: int, seed: int = 0
) -> PlaneFlow:
    """The flow of at most ``points`` training points (a random sample fixed by ``seed``) and
    of a grid on ``extent``; the first ``drawn`` sample paths are the ones to draw.

    Raises SolverFailure if the solver fails on the sample or the grid.
    """
    order = sample_rows(len(data.x_train), points, seed)
    x, labels = data.x_train[order], data.y_train[order]
    traj = trajectory(model, x)
    return PlaneFlow(
        traj=traj,
        labels=labels,
        grid=deformed_grid(model, extent, times=traj.t),
        mean_div=mean_divergence(model, traj),
        log_volume=log_volume_change(model, x, traj.t),
        cloud=cloud_log_volume(traj),
        drawn=min(drawn, len(order)),
    )


def field_times(model: DeqModel, n: int) -> list[float]:
    """Times at which to show the vector field: each layer's time l·Δt (l < L) for a discrete
    net, else ``n`` evenly spaced times from 0 to T (rounded to 12 digits, so they compare
    equal across reruns)."""
    cfg = model.config
    if cfg.discrete:
        dt = cfg.T / cfg.layers
        return [round(layer * dt, 12) for layer in range(cfg.layers)]
    return [round(float(t), 12) for t in np.linspace(0.0, cfg.T, n)]


__all__ = ["PlaneFlow", "field_times", "plane_flow", "sample_rows"]
