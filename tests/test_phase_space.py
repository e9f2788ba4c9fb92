"""Momentum where the pictures need it (deqnet.analysis.phase_space) and DeqModel.segment_at:
the weight segment of a time is the one the model's own solve or layer uses."""

from __future__ import annotations

import numpy as np
import pytest

from deqnet import ModelConfig, build_model, make_dataset, momentum
from deqnet.analysis.phase_space import (
    exact_times,
    rows_momentum,
    sample_momentum,
    segment_bounds,
    segments_at,
)


def model_of(**config):
    return build_model(ModelConfig(**config), n_classes=2, seed=0)


def test_segment_at_follows_the_segment_bounds_of_a_continuous_model() -> None:
    model = model_of(time_mode="piecewise", segments=4, T=2.0)
    # Segment k holds [k T/4, (k+1) T/4); t = T belongs to the last one.
    times = [0.0, 0.49, 0.5, 1.2, 1.99, 2.0]
    assert [model.segment_at(t) for t in times] == [0, 0, 1, 2, 3, 3]
    assert model_of().segment_at(0.7) == 0  # autonomous: one segment


def test_segment_at_of_a_discrete_net_is_the_weight_set_of_the_layer_stepping_from_t() -> None:
    model = model_of(family="feedforward", layers=6, T=1.2, time_mode="piecewise", segments=3)
    layer_times = np.arange(7) * model.dt + 1e-12  # float error around l·Δt is rounded away
    # Two layers per weight set; the final state x_6 takes the last layer's set.
    assert [model.segment_at(t) for t in layer_times] == [0, 0, 1, 1, 2, 2, 2]
    assert segments_at(model, layer_times).tolist() == [0, 0, 1, 1, 2, 2, 2]


def test_exact_times_are_the_fixed_step_grid_else_the_default_times() -> None:
    fixed = model_of(solver="rk4", steps=8, time_mode="piecewise", segments=2)
    np.testing.assert_array_equal(exact_times(fixed), fixed.solver_grid().numpy())
    assert exact_times(model_of(solver="dopri5")) is None
    assert exact_times(model_of(family="resnet", layers=5)) is None


def test_segment_bounds_only_when_the_weights_change_with_depth() -> None:
    assert segment_bounds(model_of()) is None
    np.testing.assert_allclose(
        segment_bounds(model_of(time_mode="piecewise", segments=4, T=2.0)), [0, 0.5, 1, 1.5, 2]
    )


def test_rows_momentum_is_the_momentum_of_those_rows_on_the_solver_grid() -> None:
    data = make_dataset("moons", n=40, seed=1)
    model = model_of(solver="rk4", steps=6)
    rows = (5, 2, 17)
    mom = rows_momentum(model, data, rows)
    index = list(rows)
    direct = momentum(model, data.x_train[index], data.y_train[index], times=exact_times(model))
    np.testing.assert_array_equal(mom.t, exact_times(model))
    np.testing.assert_array_equal(mom.a, direct.a)
    # x(0) comes back from the joint backward solve: the inputs, up to float32 rounding.
    np.testing.assert_allclose(mom.x[0, :, :2], data.x_train[index], atol=1e-6)


@pytest.mark.parametrize("points", [10, 1000])
def test_sample_momentum_takes_a_fixed_sample_in_row_order(points: int) -> None:
    data = make_dataset("moons", n=60, seed=1)
    model = model_of()
    mom, labels = sample_momentum(model, data, points, seed=3)
    again, _ = sample_momentum(model, data, points, seed=3)
    n = min(points, len(data.x_train))
    assert mom.x.shape[1] == n == len(labels)
    np.testing.assert_array_equal(mom.a, again.a)  # the same sample every time
    # Each sampled start is a distinct training row, in increasing row order, with its label
    # (x(0) comes back from the joint backward solve: the inputs up to float32 rounding).
    gaps = np.abs(mom.x[0, :, None, :2] - data.x_train[None]).max(axis=2)
    assert np.all(gaps.min(axis=1) < 1e-5)
    rows = gaps.argmin(axis=1).tolist()
    assert rows == sorted(set(rows))
    np.testing.assert_array_equal(labels, data.y_train[rows])
