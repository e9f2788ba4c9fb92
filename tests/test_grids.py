"""Grids of the input plane: orientation (row = y, column = x), the field at the grid points, and
the grid's lines under the flow (straight at t = 0, still straight under an affine flow)."""

import numpy as np
import pytest
import torch

from deqnet import ModelConfig, build_model, trajectory
from deqnet.analysis import decision_grid, deformed_grid, plot_extent, vector_field_grid

EXTENT = (-2.0, 3.0, -1.0, 1.5)  # not square, so a transposed grid cannot pass


def identity_ruseckas(**config) -> torch.nn.Module:
    """dx/dt = 0: ruseckas with w = b = 0 and gamma = 0."""
    model = build_model(ModelConfig(family="ruseckas", gamma=0.0, **config), 2, seed=0).double()
    with torch.no_grad():
        model.linear.w.zero_()
        model.linear.b.zero_()
    return model


def test_plot_extent_covers_data_with_margin(tiny_moons) -> None:
    x0, x1, y0, y1 = plot_extent(tiny_moons, margin=0.25)
    pts = np.concatenate([tiny_moons.x_train, tiny_moons.x_test])
    assert x0 < pts[:, 0].min() and x1 > pts[:, 0].max()
    assert y0 < pts[:, 1].min() and y1 > pts[:, 1].max()
    assert x1 - x0 >= 1.25 * np.ptp(pts, axis=0).max() - 1e-9
    assert x0 <= -1.5 and x1 >= 1.5 and y0 <= -1.5 and y1 >= 1.5


def test_plot_extent_is_square_for_wide_data_and_at_least_the_unit_box() -> None:
    wide = np.array([[-20.0, 1.0], [20.0, 3.0]])
    x0, x1, y0, y1 = plot_extent(wide, margin=0.1)
    assert (x0, x1) == pytest.approx((-22.0, 22.0))
    assert (y0, y1) == pytest.approx((-20.0, 24.0))
    assert plot_extent(np.array([[0.1, -0.1], [0.0, 0.2]])) == (-1.5, 1.5, -1.5, 1.5)


def test_decision_grid_rows_are_y_and_columns_are_x() -> None:
    # Identity flow and a readout that sees x1 only: p0 = sigmoid(2 x1) along the columns.
    model = identity_ruseckas()
    with torch.no_grad():
        model.readout.weight.copy_(torch.tensor([[1.0, 0.0], [-1.0, 0.0]]))
        model.readout.bias.zero_()
    grid = decision_grid(model, EXTENT, n=7)
    np.testing.assert_allclose(grid.xs, np.linspace(-2.0, 3.0, 7))
    np.testing.assert_allclose(grid.ys, np.linspace(-1.0, 1.5, 7))
    expected = 1 / (1 + np.exp(-2 * grid.xs))
    np.testing.assert_allclose(grid.probs[..., 0], np.broadcast_to(expected, (7, 7)), rtol=1e-12)


def test_decision_grid_is_the_softmax_at_each_point() -> None:
    model = build_model(ModelConfig(family="node", augment=1), 4, seed=5).double()
    grid = decision_grid(model, EXTENT, n=9)
    assert grid.probs.shape == (9, 9, 4)
    np.testing.assert_allclose(grid.probs.sum(axis=2), 1.0, rtol=1e-12)
    for i, j in [(0, 8), (3, 5), (8, 1)]:
        with torch.no_grad():
            p = model(torch.tensor([[grid.xs[j], grid.ys[i]]])).softmax(dim=1)[0].numpy()
        np.testing.assert_allclose(grid.probs[i, j], p, rtol=1e-10)


def test_vector_field_grid_is_the_field_at_the_grid_points() -> None:
    model = build_model(ModelConfig(family="node", augment=1, time_mode="time"), 2, seed=6)
    model = model.double()
    field = vector_field_grid(model, 0.37, EXTENT, n=5)
    assert field.u.shape == field.v.shape == (5, 5)
    for i, j in [(0, 0), (1, 4), (4, 2)]:
        with torch.no_grad():
            state = torch.tensor([[field.xs[j], field.ys[i], 0.0]], dtype=torch.float64)
            f = model.field(0.37, state)[0].numpy()
        np.testing.assert_allclose([field.u[i, j], field.v[i, j]], f[:2], rtol=1e-12)


def test_vector_field_grid_of_a_resnet_is_the_nearest_residual() -> None:
    cfg = ModelConfig(family="resnet", time_mode="piecewise", segments=5, layers=10)
    model = build_model(cfg, 2, seed=7).double()
    field = vector_field_grid(model, 0.37, EXTENT, n=4)  # dt = 0.1: layer 4, weight set 2
    gx, gy = np.meshgrid(field.xs, field.ys)
    states = torch.as_tensor(np.stack([gx.ravel(), gy.ravel()], axis=1))
    w1, b1, w2, b2 = (
        getattr(model.mlp, name)[2].detach().numpy() for name in ("w1", "b1", "w2", "b2")
    )
    f = np.tanh(states.numpy() @ w1.T + b1) @ w2.T + b2  # weight set 2 by hand
    np.testing.assert_allclose(field.u, f[:, 0].reshape(4, 4), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(field.v, f[:, 1].reshape(4, 4), rtol=1e-10, atol=1e-14)
    with pytest.raises(ValueError, match="outside"):
        vector_field_grid(model, 1.2, EXTENT)


def test_vector_field_grid_of_a_feedforward_net() -> None:
    model = build_model(ModelConfig(family="feedforward", gamma=0.5, layers=4), 2, seed=8)
    model = model.double()
    field = vector_field_grid(model, 1.0, EXTENT, n=3)  # t = T: the last layer, l = 3
    w, b, dt = model.linear.w[0].detach().numpy(), model.linear.b[0].detach().numpy(), 0.25
    gx, gy = np.meshgrid(field.xs, field.ys)
    x = np.stack([gx.ravel(), gy.ravel()], axis=1)
    y = x @ w.T + b
    velocity = (y - 0.5 * dt * y**3 - x) / dt
    np.testing.assert_allclose(field.u.ravel(), velocity[:, 0], rtol=1e-12)
    np.testing.assert_allclose(field.v.ravel(), velocity[:, 1], rtol=1e-12)


@pytest.mark.parametrize("family", ["node", "feedforward"])
def test_deformed_grid_starts_straight_and_follows_the_flow(family: str) -> None:
    model = build_model(ModelConfig(family=family, augment=1), 2, seed=9).double()
    flow = deformed_grid(model, EXTENT, n_lines=4, n_points=6)
    assert flow.lines.shape == (len(flow.t), 8, 6, 2)
    start = flow.lines[0]
    line_x, line_y = np.linspace(-2.0, 3.0, 4), np.linspace(-1.0, 1.5, 4)  # where lines sit
    run_x, run_y = np.linspace(-2.0, 3.0, 6), np.linspace(-1.0, 1.5, 6)  # along a line
    np.testing.assert_allclose(start[:4, :, 0], np.broadcast_to(line_x[:, None], (4, 6)))
    np.testing.assert_allclose(start[:4, :, 1], np.broadcast_to(run_y, (4, 6)))
    np.testing.assert_allclose(start[4:, :, 0], np.broadcast_to(run_x, (4, 6)))
    np.testing.assert_allclose(start[4:, :, 1], np.broadcast_to(line_y[:, None], (4, 6)))
    paths = trajectory(model, start.reshape(-1, 2))
    np.testing.assert_array_equal(flow.t, paths.t)
    np.testing.assert_allclose(flow.lines.reshape(len(flow.t), -1, 2), paths.x[..., :2])


def test_deformed_grid_under_an_affine_flow_is_the_affine_image() -> None:
    model = identity_ruseckas(solver="dopri5", rtol=1e-10, atol=1e-10, max_steps=20000)
    a = torch.tensor([[0.2, 1.1], [-0.7, -0.4]], dtype=torch.float64)
    c = torch.tensor([0.5, -0.3], dtype=torch.float64)
    with torch.no_grad():
        model.linear.w[0] = a
        model.linear.b[0] = c
    flow = deformed_grid(model, EXTENT, n_lines=3, n_points=5, times=np.array([0.0, 0.4, 1.0]))
    start = torch.as_tensor(flow.lines[0].reshape(-1, 2))
    for k, t in enumerate([0.0, 0.4, 1.0]):
        e = torch.linalg.matrix_exp(a * t)
        image = start @ e.T + torch.linalg.solve(a, (e - torch.eye(2, dtype=a.dtype)) @ c)
        np.testing.assert_allclose(flow.lines[k].reshape(-1, 2), image, rtol=0, atol=1e-8)


def test_grid_functions_leave_the_model_untouched() -> None:
    for family in ("node", "resnet"):
        model = build_model(ModelConfig(family=family), 2, seed=0)
        model.nfe = 3
        decision_grid(model, EXTENT, n=5)
        vector_field_grid(model, 0.5, EXTENT, n=5)
        deformed_grid(model, EXTENT, n_lines=3, n_points=4)
        assert model.nfe == 3
        assert all(p.grad is None for p in model.parameters())
