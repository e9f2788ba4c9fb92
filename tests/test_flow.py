"""The flow of the input plane (deqnet.analysis.flow): a fixed sample's paths, the grid and the
volume statistics, each the same as the analysis function it bundles."""

from __future__ import annotations

import numpy as np

from deqnet import ModelConfig, build_model, make_dataset, trajectory
from deqnet.analysis import (
    cloud_log_volume,
    deformed_grid,
    log_volume_change,
    mean_divergence,
    plot_extent,
)
from deqnet.analysis.flow import field_times, plane_flow, sample_rows


def test_sample_rows_are_distinct_rows_fixed_by_the_seed() -> None:
    rows = sample_rows(50, 20, seed=4)
    assert len(set(rows.tolist())) == 20 and rows.min() >= 0 and rows.max() < 50
    np.testing.assert_array_equal(rows, sample_rows(50, 20, seed=4))
    assert not np.array_equal(rows, sample_rows(50, 20, seed=5))
    assert sorted(sample_rows(7, 20).tolist()) == list(range(7))  # fewer rows: all of them


def test_plane_flow_bundles_the_paths_grid_and_volumes_of_its_sample() -> None:
    data = make_dataset("moons", n=60, seed=2)
    model = build_model(ModelConfig(augment=1), n_classes=2, seed=0)
    extent = plot_extent(data)
    flow = plane_flow(model, data, extent, points=30, drawn=12, seed=1)
    rows = sample_rows(len(data.x_train), 30, seed=1)
    x = data.x_train[rows]
    traj = trajectory(model, x)
    np.testing.assert_array_equal(flow.traj.x, traj.x)
    np.testing.assert_array_equal(flow.labels, data.y_train[rows])
    np.testing.assert_array_equal(flow.grid.lines, deformed_grid(model, extent, times=traj.t).lines)
    np.testing.assert_allclose(flow.mean_div, mean_divergence(model, traj))
    np.testing.assert_allclose(flow.log_volume, log_volume_change(model, x, traj.t))
    np.testing.assert_array_equal(flow.cloud, cloud_log_volume(traj))
    assert flow.cloud_starts_flat  # augmented: the cloud starts on a plane
    assert flow.drawn == 12 and flow.drawn_traj.x.shape == (len(traj.t), 12, 3)
    np.testing.assert_array_equal(flow.drawn_labels, flow.labels[:12])
    k = len(traj.t) // 2
    np.testing.assert_array_equal(flow.drawn_at(traj.t[k] + 1e-4), traj.x[k, :12])


def test_field_times_are_layer_times_or_an_even_grid() -> None:
    net = build_model(ModelConfig(family="resnet", layers=4, T=2.0), n_classes=2, seed=0)
    assert field_times(net, 21) == [0.0, 0.5, 1.0, 1.5]
    ode = build_model(ModelConfig(T=1.0), n_classes=2, seed=0)
    assert field_times(ode, 5) == [0.0, 0.25, 0.5, 0.75, 1.0]
