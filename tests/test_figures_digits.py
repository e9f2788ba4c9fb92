"""Figures of the digits topic and of information along depth: the data they carry, and size."""

from __future__ import annotations

import numpy as np
import pytest

from deqnet.digits.analysis import confusion_matrix, convergence, depth_maps, predict_digit
from deqnet.digits.data import load_digits_dataset
from deqnet.digits.models import ConvFeedForward, DigitsConfig
from deqnet.figures.digits import (
    PITCH,
    activation_strips_figure,
    confusion_figure,
    convergence_figure,
    hamiltonian_figure,
    momentum_strips_figure,
    mosaic,
    probabilities_figure,
    strip_columns,
    thumbnails_figure,
)
from deqnet.figures.information import information_figure


@pytest.fixture(scope="module")
def data():
    return load_digits_dataset()


@pytest.fixture(scope="module")
def model():
    return ConvFeedForward(DigitsConfig(channels=3, layers=20, gamma=0.5))


@pytest.fixture(scope="module")
def maps(model, data):
    return depth_maps(model, data.x_test[2], int(data.y_test[2]))


def _tile(z: np.ndarray, row: int, col: int) -> np.ndarray:
    return z[row * PITCH : row * PITCH + 8, col * PITCH : col * PITCH + 8]


def test_mosaic_places_tiles_with_nan_gaps() -> None:
    tiles = np.arange(2 * 3 * 64, dtype=np.float32).reshape(2, 3, 8, 8)
    z = mosaic(tiles)
    assert z.shape == (2 * PITCH - 1, 3 * PITCH - 1) and z.dtype == np.float32
    for r in range(2):
        for c in range(3):
            np.testing.assert_array_equal(_tile(z, r, c), tiles[r, c])
    assert np.isnan(z[8, :]).all() and np.isnan(z[:, 8]).all()
    assert np.isfinite(z).sum() == tiles.size


def test_thumbnails_show_the_digits_and_frame_the_choice(data) -> None:
    fig = thumbnails_figure(data.x_test[:5], data.y_test[:5], selected=3)
    assert len(fig.data) == 1
    z = np.asarray(fig.data[0].z)
    for k in range(5):
        np.testing.assert_array_equal(_tile(z, 0, k), data.x_test[k, 0])
    (frame,) = fig.layout.shapes
    assert frame.x0 < 3 * PITCH < frame.x1 and frame.x1 < 4 * PITCH
    assert list(fig.layout.meta["labels"]) == data.y_test[:5].tolist()


def test_strip_columns_keep_both_ends() -> None:
    assert strip_columns(5).tolist() == [0, 1, 2, 3, 4, 5]
    cols = strip_columns(40)
    assert cols[0] == 0 and cols[-1] == 40 and len(cols) == 11
    assert np.all(np.diff(cols) > 0)


def test_activation_strips_pair_net_and_ode_on_one_scale(maps) -> None:
    fig = activation_strips_figure(maps)
    assert len(fig.data) == 1
    z = np.asarray(fig.data[0].z)
    cols = fig.layout.meta["layers"]
    assert cols == strip_columns(20).tolist()
    for c in range(3):
        for j, layer in enumerate(cols):
            np.testing.assert_allclose(_tile(z, 2 * c, j), maps.x_net[layer, c], rtol=1e-6)
            np.testing.assert_allclose(_tile(z, 2 * c + 1, j), maps.x_ode[layer, c], rtol=1e-6)
    finite = z[np.isfinite(z)]
    assert fig.data[0].zmin == pytest.approx(finite.min()) and fig.data[0].zmax == finite.max()
    assert list(fig.layout.yaxis.ticktext)[:2] == ["ch 0 · net", "ch 0 · ODE"]


def test_momentum_strips_are_centred_at_zero_and_flow_backwards(maps) -> None:
    fig = momentum_strips_figure(maps)
    trace = fig.data[0]
    assert trace.zmin == -trace.zmax
    assert trace.zmax == pytest.approx(
        max(
            np.abs(maps.a_net[strip_columns(20)]).max(), np.abs(maps.a_ode[strip_columns(20)]).max()
        ),
        rel=1e-6,
    )
    z = np.asarray(trace.z)
    np.testing.assert_allclose(_tile(z, 1, 0), maps.a_ode[0, 0], rtol=1e-6)  # a(0): saliency
    assert "backwards" in fig.layout.annotations[0].text


def test_hamiltonian_figure_carries_both_energies(maps) -> None:
    fig = hamiltonian_figure(maps)
    ode, net = fig.data
    np.testing.assert_allclose(ode.y, maps.H_ode, rtol=1e-6)
    np.testing.assert_allclose(net.y, maps.H_net[:-1], rtol=1e-6)
    np.testing.assert_allclose(net.x, maps.t[:-1], rtol=1e-6)


def test_convergence_figure_keeps_the_fit_as_data(model, data) -> None:
    conv = convergence(model, data.x_test[:3].astype(np.float64), layers=(20, 40, 80))
    fig = convergence_figure(conv)
    assert fig.layout.meta["slope"] == conv.slope
    points, fit = fig.data
    np.testing.assert_allclose(points.y, conv.errors, rtol=1e-6)
    np.testing.assert_allclose(
        fit.y, conv.coefficient * np.asarray(fit.x, float) ** conv.slope, rtol=1e-5
    )
    assert f"{conv.slope:.2f}".replace("-", "−") in fit.name
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"


def test_confusion_and_probabilities(model, data) -> None:
    counts = confusion_matrix(model, data.x_test, data.y_test)
    fig = confusion_figure(counts)
    np.testing.assert_array_equal(np.asarray(fig.data[0].z), counts)
    prediction = predict_digit(model, data.x_test[0])
    bars = probabilities_figure(prediction).data[0]
    np.testing.assert_allclose(bars.y, prediction.probabilities, rtol=1e-6)
    assert np.argmax(bars.y) == prediction.digit


def test_information_figure_draws_each_resolution_under_the_ceiling() -> None:
    t = np.linspace(0.0, 1.0, 6)
    info = np.array([np.full(6, 0.2), np.linspace(0.5, 1.0, 6), np.full(6, 1.5)])
    fig = information_figure(t, info, [2, 8, 32], 1.58)
    assert len(fig.data) == 4
    for trace, row, bins in zip(fig.data[:3], info, [2, 8, 32], strict=True):
        np.testing.assert_allclose(trace.y, row, rtol=1e-6)
        assert str(bins) in trace.name
    ceiling = fig.data[3]
    assert ceiling.line.dash == "dash" and np.allclose(ceiling.y, 1.58)
    assert fig.layout.meta["h_y"] == 1.58


def test_the_pages_figures_fit_the_payload_budget(data) -> None:
    # The largest page: 8 channels, 40 layers (the strips draw 11 of the 41 depths).
    model = ConvFeedForward(DigitsConfig(channels=8, layers=40))
    maps = depth_maps(model, data.x_test[0], int(data.y_test[0]))
    figures = [
        thumbnails_figure(data.x_test[:16], data.y_test[:16], selected=0),
        activation_strips_figure(maps),
        momentum_strips_figure(maps),
        hamiltonian_figure(maps),
        convergence_figure(convergence(model, data.x_test[:8], layers=(40, 80, 160))),
        confusion_figure(confusion_matrix(model, data.x_test, data.y_test)),
        probabilities_figure(predict_digit(model, data.x_test[0])),
    ]
    assert sum(len(fig.to_json()) for fig in figures) < 2_000_000
