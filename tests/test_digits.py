"""deqnet.digits against the mathematics: a near-identity conv net is the ODE (P1) on images.

- the conv layer h(W ∗ x + B) is (P3) to machine precision, with the convolution written out as
  an explicit matrix acting on the flattened image;
- the net converges to the ODE with global error O(Δt) (fitted slope −1);
- the momentum from the backward adjoint ODE is autograd's ∂ℓ/∂x(0);
- H = a·F is conserved for tied weights;
- discretize/continuize are exact inverse parameter maps;
- the default model learns the digits (≥ 90 % test accuracy) in a few seconds.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from deqnet.config import ConfigError
from deqnet.digits.analysis import (
    adjoint,
    confusion_matrix,
    convergence,
    depth_maps,
    input_gradient,
    network,
    predict_digit,
)
from deqnet.digits.data import DigitsDataset, load_digits_dataset
from deqnet.digits.models import (
    ConvFeedForward,
    ConvODE,
    DigitsConfig,
    continuize,
    discretize,
    identity_kernel,
)
from deqnet.digits.training import DigitsTrainConfig, DigitsTrainer, evaluate


@pytest.fixture(scope="module")
def data():
    return load_digits_dataset()


def _images(data, n: int = 6) -> np.ndarray:
    return data.x_test[:n].astype(np.float64)


def conv_matrix(kernel: torch.Tensor) -> torch.Tensor:
    """The 3×3 zero-padded cross-correlation with kernel (C, C, 3, 3) as a (64C, 64C) matrix on
    images flattened channel-major, built tap by tap (independently of torch's conv2d)."""
    c = kernel.shape[0]
    m = torch.zeros(c * 64, c * 64, dtype=kernel.dtype)
    for o in range(c):
        for i in range(8):
            for j in range(8):
                for k in range(c):
                    for di in range(3):
                        for dj in range(3):
                            ii, jj = i + di - 1, j + dj - 1
                            if 0 <= ii < 8 and 0 <= jj < 8:
                                m[o * 64 + i * 8 + j, k * 64 + ii * 8 + jj] += kernel[o, k, di, dj]
    return m


def test_data_split_is_stratified_seeded_and_complete(data) -> None:
    assert data.x_train.shape[1:] == (1, 8, 8) and data.x_train.dtype == np.float32
    assert data.y_train.dtype == np.int64 and data.n_classes == 10
    assert len(data.x_train) + len(data.x_test) == 1797
    assert 0.0 <= data.x_train.min() and data.x_train.max() <= 1.0 and data.x_train.max() == 1.0
    train_counts, test_counts = np.bincount(data.y_train), np.bincount(data.y_test)
    totals = train_counts + test_counts
    assert np.all(np.abs(test_counts - 0.3 * totals) <= 0.5)  # per class: round(0.3 n_class)
    again, other = load_digits_dataset(seed=0), load_digits_dataset(seed=1)
    np.testing.assert_array_equal(again.x_test, data.x_test)
    assert not np.array_equal(other.y_test, data.y_test)
    # Every bundled image is in exactly one split: the two multisets of rows are equal.
    rows = np.concatenate([data.x_train, data.x_test]).reshape(-1, 64)
    bundled = (load_digits().images / 16.0).astype(np.float32).reshape(-1, 64)
    split_rows, split_counts = np.unique(rows, axis=0, return_counts=True)
    all_rows, all_counts = np.unique(bundled, axis=0, return_counts=True)
    np.testing.assert_array_equal(split_rows, all_rows)
    np.testing.assert_array_equal(split_counts, all_counts)


def test_dataset_rejects_wrong_shapes(data) -> None:
    with pytest.raises(ValueError, match="8, 8"):
        DigitsDataset(data.x_train[:, 0], data.y_train, data.x_test, data.y_test)
    with pytest.raises(ValueError):
        DigitsDataset(data.x_train, data.y_train[:-1], data.x_test, data.y_test)


@pytest.mark.parametrize("tied", [True, False])
def test_conv_layer_is_p3_with_the_explicit_matrix(tied: bool, data) -> None:
    cfg = DigitsConfig(channels=3, layers=5, tied=tied, gamma=0.7, seed=2)
    ode = ConvODE(cfg).double()
    with torch.no_grad():
        ode.weight.mul_(3.0)  # larger than at initialisation: the identity holds for any weights
    net = discretize(ode, cfg.layers)
    x = net.lift(torch.as_tensor(_images(data, 4)))
    dt, gamma = cfg.dt, cfg.gamma
    for layer in range(cfg.layers):
        k = net.segment_of_layer(layer)
        w = conv_matrix(ode.weight[k].detach())
        b = ode.bias[k].detach().repeat_interleave(64)
        flat = x.flatten(1)
        linear = flat + dt * (flat @ w.T + b)
        p3 = linear - dt * gamma * linear**3  # x + Δt(wx + b) + Δt g(x + Δt(wx + b))
        with torch.no_grad():
            step = net.step(layer, x)
        np.testing.assert_allclose(step.flatten(1).numpy(), p3.numpy(), rtol=0, atol=1e-13)
        # W_l is I + Δt w as matrices: the identity kernel is the identity matrix.
        big_w = conv_matrix(net.weight[k].detach())
        np.testing.assert_allclose(
            big_w.numpy(), (torch.eye(192, dtype=w.dtype) + dt * w).numpy(), rtol=0, atol=1e-15
        )
        x = step


def test_identity_kernel_is_the_identity(data) -> None:
    x = torch.as_tensor(data.x_test[:3]).repeat(1, 4, 1, 1)
    out = torch.nn.functional.conv2d(x, identity_kernel(4), padding=1)
    torch.testing.assert_close(out, x, rtol=0, atol=0)


def test_net_and_ode_built_from_one_config_are_each_others_maps() -> None:
    cfg = DigitsConfig(tied=False, layers=6)
    ode, net = ConvODE(cfg), ConvFeedForward(cfg)
    mapped = discretize(ode, cfg.layers)
    for name, value in net.state_dict().items():
        torch.testing.assert_close(mapped.state_dict()[name], value, rtol=0, atol=0)
    # Near the identity at initialisation: W − I and B are O(Δt).
    w_minus_i = net.weight.detach() - identity_kernel(cfg.channels)
    assert w_minus_i.abs().max() <= cfg.dt * ode.weight.detach().abs().max() * 1.0001


@pytest.mark.parametrize("tied", [True, False])
def test_discretize_continuize_round_trip(tied: bool) -> None:
    ode = ConvODE(DigitsConfig(tied=tied, layers=8, steps=8)).double()
    back = continuize(discretize(ode, 8), solver="rk4", steps=8)
    assert back.config == ode.config
    for name, value in ode.state_dict().items():
        torch.testing.assert_close(back.state_dict()[name], value, rtol=0, atol=1e-14)
    net = discretize(ode, 8)
    again = discretize(continuize(net), 8)
    for name, value in net.state_dict().items():
        torch.testing.assert_close(again.state_dict()[name], value, rtol=0, atol=1e-15)


def test_untied_discretize_needs_whole_segments() -> None:
    ode = ConvODE(DigitsConfig(tied=False, layers=4))
    assert discretize(ode, 8).config.n_segments == 4
    with pytest.raises(ConfigError, match="multiple"):
        discretize(ode, 6)


@pytest.mark.parametrize(
    "changes",
    [
        {"channels": 0},
        {"layers": 0},
        {"gamma": -1.0},
        {"solver": "dopri5"},
        {"tied": True, "segments": 3},
    ],
)
def test_config_rejects_invalid_values(changes: dict) -> None:
    with pytest.raises(ConfigError):
        DigitsConfig(**changes)


@pytest.mark.parametrize("tied", [True, False])
def test_net_converges_to_the_ode_at_first_order(tied: bool, data) -> None:
    net = ConvFeedForward(DigitsConfig(tied=tied, layers=10, gamma=0.5))
    conv = convergence(net, _images(data))
    assert list(conv.layers) == [10, 20, 40, 80, 160]
    assert np.all(np.diff(np.log(conv.errors)) < 0)
    assert conv.slope == pytest.approx(-1.0, abs=0.15)


@pytest.mark.parametrize("tied", [True, False])
def test_adjoint_ode_gives_the_autograd_input_gradient(tied: bool, data) -> None:
    ode = ConvODE(DigitsConfig(tied=tied, layers=5, steps=200, gamma=0.5)).double()
    images, labels = _images(data, 5), data.y_test[:5]
    x0 = ode.lift(torch.as_tensor(images))
    _, a = adjoint(ode, x0, torch.as_tensor(labels), [0.0, 0.5, ode.config.T])
    expected = input_gradient(ode, images, labels)
    error = np.abs(a[0].numpy() - expected).max() / np.abs(expected).max()
    assert error < 1e-6


def test_discrete_momentum_is_backprop_and_converges_to_the_adjoint(data) -> None:
    image, label = data.x_test[0], int(data.y_test[0])
    net = ConvFeedForward(DigitsConfig(layers=10))
    maps = depth_maps(net, image, label)
    saliency = input_gradient(network(net), image[None].astype(np.float64), np.array([label]))
    np.testing.assert_allclose(maps.a_net[0], saliency[0], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(maps.x_net[0], maps.x_ode[0])  # both start at the input
    # The same ODE seen through nets of more layers: a_0 approaches a(0) like Δt.
    ode = continuize(net)
    gaps = []
    for layers in (10, 40):
        finer = depth_maps(discretize(ode, layers), image, label)
        gaps.append(np.abs(finer.a_net[0] - finer.a_ode[0]).max())
    assert gaps[1] < gaps[0] / 3


def test_hamiltonian_is_conserved_for_tied_weights(data) -> None:
    maps = depth_maps(ConvFeedForward(DigitsConfig(tied=True, gamma=0.5)), data.x_test[1], 3)
    h = maps.H_ode
    assert np.ptp(h) / np.abs(h).mean() < 1e-6
    untied = depth_maps(ConvFeedForward(DigitsConfig(tied=False, gamma=0.5)), data.x_test[1], 3)
    assert np.ptp(untied.H_ode) / np.abs(untied.H_ode).mean() > 1e-3  # jumps between segments


def test_default_model_learns_the_digits_deterministically(data) -> None:
    results = []
    for _ in range(2):
        model = ConvFeedForward(DigitsConfig())
        trainer = DigitsTrainer(model, data, DigitsTrainConfig())
        trainer.step(10_000)
        results.append((trainer, model))
    (trainer, model), (other, _) = results
    assert trainer.status == "ok" and trainer.steps_done == DigitsTrainConfig().train_steps
    assert [r.loss for r in trainer.history] == [r.loss for r in other.history]
    metrics = evaluate(model, data)
    assert metrics["test_acc"] >= 0.90
    assert trainer.history[-1].test_acc >= 0.90
    counts = confusion_matrix(model, data.x_test, data.y_test)
    assert counts.sum() == len(data.y_test)
    np.testing.assert_array_equal(counts.sum(axis=1), np.bincount(data.y_test, minlength=10))
    assert np.trace(counts) / counts.sum() == pytest.approx(metrics["test_acc"], abs=1e-12)
    prediction = predict_digit(model, data.x_test[0])
    assert prediction.probabilities.sum() == pytest.approx(1.0, abs=1e-6)
    assert prediction.probability == prediction.probabilities.max()


def test_divergence_restores_the_last_good_weights(data) -> None:
    model = ConvFeedForward(DigitsConfig(gamma=10.0, channels=8))
    trainer = DigitsTrainer(model, data, DigitsTrainConfig(lr=1.0, train_steps=200))
    trainer.step(200)
    assert trainer.status == "diverged" and "diverged at step" in trainer.message
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert trainer.step(5) == []
    assert torch.isfinite(model(torch.as_tensor(data.x_test[:8]))).all()


def test_step_budget_and_time_box(data) -> None:
    trainer = DigitsTrainer(ConvFeedForward(DigitsConfig()), data, DigitsTrainConfig(train_steps=3))
    assert len(trainer.step(10)) == 3 and trainer.budget_reached
    assert trainer.step(1) == []
    boxed = DigitsTrainer(ConvFeedForward(DigitsConfig()), data)
    assert len(boxed.step(50, max_seconds=0.0)) == 1  # at least one step, then the box is spent
