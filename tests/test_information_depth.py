"""I(y; x(t)) along a model's depth (deqnet.analysis.information.depth_information)."""

import numpy as np
import pytest
import torch

from deqnet import ModelConfig, build_model, make_dataset
from deqnet.analysis.information import depth_information, entropy_bits, mutual_information

DATA = make_dataset("moons", n=256, noise=0.1, seed=0)


@pytest.mark.parametrize("family", ["node", "ruseckas", "resnet", "feedforward"])
def test_depth_zero_is_the_input_and_no_row_passes_the_ceiling(family):
    model = build_model(ModelConfig(family=family, augment=1), DATA.n_classes, seed=0)
    info = depth_information(model, DATA.x_train, DATA.y_train, bins=(2, 4, 64), depths=5)
    assert info.t[0] == 0.0 and info.t[-1] == pytest.approx(model.config.T)
    assert info.information.shape == (3, len(info.t))
    assert info.h_y == pytest.approx(entropy_bits(DATA.y_train))
    for row, bins in zip(info.information, info.bins, strict=True):
        # The lift pads a zero coordinate, which puts every point in that coordinate's bin 0.
        assert row[0] == pytest.approx(mutual_information(DATA.x_train, DATA.y_train, bins))
    assert np.all(info.information <= info.h_y + 1e-12)


def test_a_flow_that_scales_each_coordinate_keeps_every_resolution_flat():
    # dx/dt = diag(0.8, -1.3) x + b moves every coordinate by an affine map of itself, and equal
    # bins over the bounding box do not see such maps: each row must stay exactly constant.
    model = build_model(ModelConfig(family="ruseckas", gamma=0.0), DATA.n_classes, seed=0)
    model = model.double()
    with torch.no_grad():
        model.linear.w.zero_()
        model.linear.w[0] = torch.diag(torch.tensor([0.8, -1.3], dtype=torch.float64))
        model.linear.b[0] = torch.tensor([0.3, -0.2], dtype=torch.float64)
    info = depth_information(model, DATA.x_train, DATA.y_train, depths=6)
    expected = np.broadcast_to(info.information[:, :1], info.information.shape)
    np.testing.assert_allclose(info.information, expected, atol=1e-12)
    assert 0.1 < info.information[0, 0] < info.h_y  # the coarse row is not trivially 0 or H
