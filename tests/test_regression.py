"""Regression: the data sets, squared error and R² by hand, training on "plane", the engine's
stack key, and the momentum identities of tests/test_adjoint.py for a real target."""

import numpy as np
import pytest
import torch

import deqnet
from deqnet import ModelConfig, build_model
from deqnet.analysis.adjoint import autograd_input_gradient, momentum
from deqnet.config import DataConfig, TrainConfig, repair_run
from deqnet.datasets import REGRESSION_DATASETS, bumps_target, make_dataset, task_of
from deqnet.engine import step_together, trainer_key
from deqnet.losses import loss_per_point, mean_loss, r_squared, score

TIGHT = {"solver": "dopri5", "rtol": 1e-10, "atol": 1e-10, "max_steps": 20000}


@pytest.mark.parametrize("name", REGRESSION_DATASETS)
def test_regression_data_sets_shapes_ranges_and_seeds(name):
    data = make_dataset(name, n=400, noise=0.0, test_fraction=0.25, seed=3)
    assert data.task == task_of(name) == "regression" and data.n_classes == 1
    assert data.x_train.shape == (300, 2) and data.x_test.shape == (100, 2)
    assert data.y_train.shape == (300,) and data.y_train.dtype == np.float32
    assert np.abs(data.x_all).max() <= 1.5
    assert -1.01 <= data.y_all.min() < -0.7 and 0.7 < data.y_all.max() <= 1.01
    again = make_dataset(name, n=400, noise=0.0, test_fraction=0.25, seed=3)
    other = make_dataset(name, n=400, noise=0.0, test_fraction=0.25, seed=4)
    assert np.array_equal(data.x_train, again.x_train)
    assert np.array_equal(data.y_test, again.y_test)
    assert not np.array_equal(data.x_train, other.x_train)


def test_targets_are_those_of_the_clean_points():
    plane = make_dataset("plane", n=200, noise=0.0, seed=1)
    np.testing.assert_allclose(plane.y_all, plane.x_all.sum(axis=1) / 3, atol=1e-6)
    bumps = make_dataset("bumps", n=200, noise=0.0, seed=1)
    np.testing.assert_allclose(bumps.y_all, bumps_target(bumps.x_all), atol=1e-6)
    # Noise moves the inputs, not the targets.
    noisy = make_dataset("plane", n=200, noise=0.3, seed=1)
    assert np.abs(noisy.x_all.sum(axis=1) / 3 - noisy.y_all).max() > 0.1
    assert np.abs(noisy.y_all).max() <= 1.0


def test_regression_ignores_the_class_count_in_configs_and_repairs():
    config = DataConfig(name="bumps", n_classes=4)
    assert config.task == "regression" and config.make().n_classes == 1
    values, repairs = repair_run({"data": {"name": "plane", "n_classes": 5}})
    assert repairs == [] and values["data"]["n_classes"] == 5


def test_squared_error_and_r2_against_numpy():
    rng = np.random.default_rng(0)
    out = rng.normal(size=(3, 20, 1))
    y = rng.normal(size=(3, 20))
    per_point = loss_per_point(torch.tensor(out), torch.tensor(y), "cross_entropy")
    np.testing.assert_allclose(per_point.numpy(), (out[..., 0] - y) ** 2, rtol=1e-15)
    np.testing.assert_allclose(
        mean_loss(torch.tensor(out), torch.tensor(y), "mse").numpy(),
        ((out[..., 0] - y) ** 2).mean(axis=1),
        rtol=1e-15,
    )
    by_hand = [
        1 - ((y[m] - out[m, :, 0]) ** 2).sum() / ((y[m] - y[m].mean()) ** 2).sum() for m in range(3)
    ]
    np.testing.assert_allclose(r_squared(torch.tensor(out), torch.tensor(y)).numpy(), by_hand)
    # The mean predicts with R² = 0; the targets themselves with R² = 1.
    y0 = torch.tensor(y[0])
    assert float(score(y0.mean().expand(20, 1), y0)) == pytest.approx(0.0, abs=1e-15)
    assert float(score(y0.unsqueeze(1), y0)) == 1.0


def _trainer(seed=0, augment=0, **train):
    data = make_dataset("plane", n=256, noise=0.05, seed=0)
    model = build_model(ModelConfig(augment=augment), data.n_classes, seed=seed)
    return deqnet.Trainer(model, data, TrainConfig(**train))


def test_training_on_plane_reaches_r2_of_095():
    trainer = _trainer()
    trainer.step(200)
    metrics = deqnet.evaluate(trainer.model, trainer.data)
    assert metrics["test_acc"] >= 0.95 and metrics["train_acc"] >= 0.95
    assert metrics["test_loss"] < 0.02
    # The step's record holds R² of the weights the step started from, as the evaluation.
    assert trainer.history[-1].test_acc == pytest.approx(metrics["test_acc"], abs=0.01)


@pytest.mark.parametrize("shape", [{}, {"augment": 1, "batch_size": 37}])
def test_regression_keeps_its_own_stack_and_is_exact_in_a_crowd(shape):
    regression = [_trainer(seed, **shape) for seed in range(3)]
    data = make_dataset("moons", n=256, noise=0.05, seed=0)
    classifier = deqnet.Trainer(build_model(ModelConfig(), 2), data, TrainConfig())
    assert len({trainer_key(t) for t in regression}) == 1
    assert trainer_key(classifier) != trainer_key(regression[0])
    alone = _trainer(1, **shape)
    for _ in range(3):
        step_together(regression)
        step_together([alone])
    assert [r.loss for r in regression[1].history] == [r.loss for r in alone.history]


def _tight_regressor(**config):
    return build_model(ModelConfig(**{**TIGHT, **config}), n_classes=1, seed=3).double()


def _points(n=6):
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(n, 2, generator=g, dtype=torch.float64) - 0.5) * 3
    return x, torch.linspace(-1, 1, n, dtype=torch.float64)


@pytest.mark.parametrize("family", ["node", "ruseckas"])
def test_momentum_of_a_regression_model(family):
    model = _tight_regressor(family=family)
    x, y = _points()
    mom = momentum(model, x, y)
    # a(T) = d(w·x + b - y)^2/dx = 2 (w·x(T) + b - y) w, written out by hand.
    w, b = model.readout.weight.detach()[0], model.readout.bias.detach()[0]
    x_final = torch.from_numpy(mom.x[-1])
    expected = 2 * (x_final @ w + b - y)[:, None] * w[None, :]
    np.testing.assert_allclose(mom.a[-1], expected.numpy(), rtol=1e-12, atol=1e-15)
    # a(0) is the input gradient by autograd, and H = a·F is flat for tied (autonomous) weights.
    a0 = autograd_input_gradient(model, x, y)
    assert np.max(np.linalg.norm(mom.a[0] - a0, axis=1) / np.linalg.norm(a0, axis=1)) < 1e-6
    assert np.abs(mom.H).min() > 1e-6
    assert (np.ptp(mom.H, axis=0) / np.abs(mom.H).mean(axis=0)).max() < 1e-6


def test_csv_rule_links_run_files_and_the_script_carry_the_task():
    from deqnet.sharing import run_from_json, run_to_json
    from deqnet.sharing.csvfile import dataset_to_csv, load_csv
    from deqnet.sharing.script import reproduce_script

    rows = "".join(f"{i % 7 / 3},{i % 5 / 2},{i % 3}\n" for i in range(12))
    assert load_csv("x1,x2,label\n" + rows).task == "classification"  # whole numbers: classes
    real = load_csv("x1,x2,label\n" + rows + "0.1,0.2,0.5\n")
    assert real.task == "regression" and 0.5 in real.y_all  # one real number: regression
    assert load_csv("x1,x2,target\n" + rows).task == "regression"  # named a target
    data = make_dataset("bumps", n=64, seed=2)
    again = load_csv(dataset_to_csv(data))
    assert again.task == "regression"
    assert np.array_equal(again.y_train, data.y_train) and np.array_equal(again.x_test, data.x_test)
    run = deqnet.RunConfig(data=DataConfig(name="plane"))
    trainer = deqnet.Trainer(build_model(run.model, 1), run.data.make(), run.train)
    trainer.step(2)
    loaded = run_from_json(run_to_json(run, trainer.model, trainer.history))
    assert loaded.n_classes == 1 and loaded.run.data.task == "regression"
    assert "test R²" in reproduce_script(run)


def test_the_live_shading_is_the_output_over_the_fixed_range_without_a_contour():
    from deqnet.analysis.grids import DecisionGrid
    from deqnet.figures.boundary import shading_arrays
    from deqnet.live.frames import decode_frame, encode_update
    from deqnet.live.mailbox import Update
    from deqnet.live.picture import make_picture
    from deqnet.live.status import metric_texts

    out = np.array([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0]).reshape(2, 3, 1)
    grid = DecisionGrid(xs=np.arange(3.0), ys=np.arange(2.0), probs=out)
    (levels,) = shading_arrays(grid, False, (-1.0, 1.0))
    np.testing.assert_allclose(levels.ravel(), [0, 0, 0.5, 0.75, 1, 1])  # clipped at the ends
    (signs,) = shading_arrays(grid, True, (-1.0, 1.0))
    np.testing.assert_array_equal(signs.ravel(), [0, 0, 1, 1, 1, 1])
    trainer = _trainer()
    trainer.step(2)
    picture = make_picture(trainer.model, trainer.data, serial=1, step=2, n=8, paths=False)
    assert picture.value_range == (-1.0, 1.0)
    history = trainer.history
    update = Update(1, 0, True, history, history, picture, False, None, 9, "", "regression")
    header, arrays = decode_frame(encode_update(update, discretize=False))
    assert header["grid"]["kind"] == "heatmap" and "contour" not in arrays
    expected = np.clip((picture.grid.probs[..., 0] + 1) / 2, 0, 1)
    np.testing.assert_allclose(arrays["z"].reshape(8, 8) / 255, expected, atol=0.5 / 255 + 1e-6)
    assert header["metrics"] == metric_texts(history, 9, "regression")
    assert header["metrics"]["test-accuracy"] == f"{history[-1].test_acc:.3f}"
