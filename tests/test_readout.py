"""The readout direction and the final features along it (deqnet.analysis.readout)."""

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from deqnet import ModelConfig, build_model
from deqnet.analysis.readout import readout_direction, readout_line
from deqnet.figures.readout import readout_line_figure


def _model(n_classes: int, seed: int = 0):
    return build_model(ModelConfig(family="node", augment=1), n_classes=n_classes, seed=seed)


def test_two_classes_read_along_the_logit_difference():
    model = _model(2)
    w = model.readout.weight.detach().double().numpy()
    expected = (w[1] - w[0]) / np.linalg.norm(w[1] - w[0])
    d = readout_direction(model)
    assert np.linalg.norm(d) == pytest.approx(1.0)
    assert abs(float(d @ expected)) == pytest.approx(1.0, abs=1e-12)


def test_the_two_class_boundary_is_where_the_logits_are_equal():
    model = _model(2, seed=3).double()
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 3))
    line = readout_line(model, x, rng.integers(0, 2, size=50))
    # Any point at the boundary position, plus anything orthogonal to the direction.
    orthogonal = rng.normal(size=(20, 3))
    orthogonal -= np.outer(orthogonal @ line.direction, line.direction)
    on_boundary = line.boundary * line.direction + orthogonal
    logits = model.readout(torch.as_tensor(on_boundary)).detach().numpy()
    np.testing.assert_allclose(logits[:, 0], logits[:, 1], atol=1e-12)


def test_many_classes_read_along_the_leading_direction_of_the_centred_readout():
    model = _model(4, seed=2)
    w = model.readout.weight.detach().double().numpy()
    centred = w - w.mean(axis=0)
    d = readout_direction(model)
    # No unit vector separates the centred logits more than d does.
    trials = np.random.default_rng(0).normal(size=(5000, 3))
    trials /= np.linalg.norm(trials, axis=1, keepdims=True)
    assert np.linalg.norm(centred @ d) >= np.linalg.norm(centred @ trials.T, axis=0).max() - 1e-12


@pytest.mark.parametrize("flip", [False, True])
def test_the_direction_is_oriented_so_class_means_increase(flip):
    model = _model(3, seed=4)
    d = readout_direction(model)
    labels = np.repeat(np.arange(3), 30)
    steps = -1.0 if flip else 1.0
    x = np.outer(steps * (labels - 1.0), d) + 0.01 * np.random.default_rng(2).normal(size=(90, 3))
    line = readout_line(model, x, labels)
    assert np.all(np.diff(line.class_means) > 0)
    assert list(line.order) == [0, 1, 2]
    np.testing.assert_allclose(line.position, x @ line.direction)


def test_figure_has_one_row_per_class_in_order():
    model = _model(2)
    labels = np.array([0, 0, 1, 1, 1])
    x = np.random.default_rng(5).normal(size=(5, 3))
    line = readout_line(model, x, labels)
    fig = readout_line_figure(line)
    assert isinstance(fig, go.Figure)
    assert [t.name for t in fig.data] == [f"class {k}" for k in line.order]
    shown = np.sort(np.concatenate([np.asarray(t.x, dtype=float) for t in fig.data]))
    np.testing.assert_allclose(shown, np.sort(line.position), rtol=1e-6)
