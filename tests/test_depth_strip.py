"""The depth strip: the plane at t = 0, T/4, T/2, 3T/4, T, and its place in a live frame."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import deqnet
from deqnet.analysis.flow import plane_flow
from deqnet.analysis.grids import plot_extent
from deqnet.analysis.strip import depth_strip, square_grid
from deqnet.figures import flow_animation_figure
from deqnet.figures.animation import opening_at
from deqnet.live.frames import decode_frame, encode_update
from deqnet.live.mailbox import Update
from deqnet.live.picture import make_picture

DATA = deqnet.make_dataset("moons", n=96, seed=3)


@pytest.mark.parametrize("family", deqnet.FAMILIES)
def test_the_panels_are_the_flow_at_their_depths(family: str) -> None:
    model = deqnet.build_model(deqnet.ModelConfig(family=family, T=1.5, layers=8), 2, 0)
    model = model.double()
    x = DATA.x_train[:20].astype(np.float64)
    extent = plot_extent(DATA)
    strip = depth_strip(model, x, extent)
    grid = square_grid(extent)
    assert strip.points.shape == (5, 20, 2) and strip.grid.shape == (5, *grid.shape)
    np.testing.assert_allclose(strip.points[0], x, atol=1e-6)  # t = 0: the inputs
    np.testing.assert_allclose(strip.grid[0], grid, atol=1e-6)
    with torch.no_grad():
        end = model.flow(model.lift(torch.as_tensor(x))).numpy()[:, :2]
    np.testing.assert_allclose(strip.points[-1], end, rtol=1e-6, atol=1e-6)  # t = T: the flow
    if model.config.discrete:
        assert strip.layers == (0, 2, 4, 6, 8)  # evenly spaced layers of 8
        np.testing.assert_allclose(strip.times, [0.0, 0.375, 0.75, 1.125, 1.5])
        with torch.no_grad():
            two = model.step(1, model.step(0, model.lift(torch.as_tensor(x))))
        np.testing.assert_allclose(strip.points[1], two.numpy()[:, :2], rtol=1e-6, atol=1e-6)
    else:
        assert strip.layers is None
        np.testing.assert_allclose(strip.times, [0.0, 0.375, 0.75, 1.125, 1.5])


def test_a_live_frame_carries_the_strip() -> None:
    model = deqnet.build_model(deqnet.ModelConfig(), 2, 0)
    picture = make_picture(model, DATA, serial=7, step=3, n=12)
    assert picture.strip is not None
    update = Update(
        serial=7, history=[], records=[], start=0, reset=False, running=True, stopped=None,
        budget=100, message="", picture=picture,
    )  # fmt: skip
    header, arrays = decode_frame(encode_update(update, discretize=False))
    strip = header["strip"]
    assert strip["times"] == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_array_equal(arrays["strip_points"], picture.strip.points)
    np.testing.assert_array_equal(arrays["strip_grid"], picture.strip.grid)
    np.testing.assert_array_equal(arrays["strip_labels"], picture.labels)
    for (x0, x1, y0, y1), points in zip(strip["boxes"], picture.strip.points, strict=True):
        inside = (points[:, 0] >= x0) & (points[:, 0] <= x1)
        inside &= (points[:, 1] >= y0) & (points[:, 1] <= y1)
        assert inside.mean() >= 0.9  # each panel frames its own points


def test_the_animation_opens_at_the_depth_asked_for() -> None:
    model = deqnet.build_model(deqnet.ModelConfig(T=2.0), 2, 0)
    extent = plot_extent(DATA)
    flow = plane_flow(model, DATA, extent, points=40, drawn=40)
    fig = flow_animation_figure(flow.drawn_traj, flow.drawn_labels, flow.grid, extent)
    opened = opening_at(fig, flow.drawn_traj.t, 1.0)  # T/2
    j = opened.layout.sliders[0].active
    assert float(fig.layout.sliders[0].steps[j].label) == pytest.approx(1.0, abs=0.03)
    frame = fig.frames[j]
    for index, data in zip(frame.traces, frame.data, strict=True):
        np.testing.assert_array_equal(opened.data[index].x, data.x)
    assert list(opened.layout.xaxis.range) == list(frame.layout.xaxis.range)
    assert fig.layout.sliders[0].active == 0  # the shared figure is left as it was
