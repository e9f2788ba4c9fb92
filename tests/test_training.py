"""Tests of deqnet.training: reproducibility, divergence handling, gradients and records."""

from __future__ import annotations

import math

import pytest
import torch

from deqnet import (
    ModelConfig,
    StepRecord,
    TrainConfig,
    Trainer,
    build_model,
    evaluate,
    make_dataset,
)
from deqnet.losses import accuracy, loss_per_point, mean_loss

FIELDS = ("step", "loss", "train_acc", "test_acc", "nfe_forward", "nfe_backward", "seconds")


def _trainer(data, model_cfg: ModelConfig, train_cfg: TrainConfig, *, double: bool = False):
    model = build_model(model_cfg, n_classes=data.n_classes, seed=train_cfg.seed)
    return Trainer(model.double() if double else model, data, train_cfg)


def _weights(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _full_batch_loss(trainer: Trainer) -> float:
    x = torch.as_tensor(trainer.data.x_train, dtype=trainer.model.dtype)
    y = torch.as_tensor(trainer.data.y_train)
    with torch.no_grad():
        return float(mean_loss(trainer.model(x), y, trainer.config.loss))


# ------------------------------------------------------------------------------ reproducibility


@pytest.mark.parametrize("batch_size", [0, 16])
def test_same_seed_gives_identical_data_weights_and_history(tiny_moons, batch_size: int) -> None:
    runs = []
    for _ in range(2):
        data = make_dataset("moons", n=128, noise=0.1, test_fraction=0.25, seed=0)
        trainer = _trainer(data, ModelConfig(steps=4), TrainConfig(batch_size=batch_size, seed=3))
        runs.append((data, _weights(trainer), trainer))
        trainer.step(20)
    (data_a, init_a, a), (data_b, init_b, b) = runs
    assert (data_a.x_train == data_b.x_train).all() and (data_a.y_test == data_b.y_test).all()
    assert _same(init_a, init_b)
    assert [r[:-1] for r in a.history] == [r[:-1] for r in b.history]  # all but the timing
    assert _same(_weights(a), _weights(b))
    # Another sampler seed (mini-batch) or weight seed (full batch) gives another run.
    other = _trainer(tiny_moons, ModelConfig(steps=4), TrainConfig(batch_size=batch_size, seed=4))
    other.step(20)
    assert [r.loss for r in other.history] != [r.loss for r in a.history]


def test_minibatch_order_comes_from_the_train_seed_only(tiny_moons) -> None:
    # Same weights (model seed 0), different sampler seeds => different mini-batches and losses.
    histories = []
    for sampler_seed in (0, 0, 1):
        model = build_model(ModelConfig(steps=4), n_classes=2, seed=0)
        trainer = Trainer(model, tiny_moons, TrainConfig(batch_size=8, seed=sampler_seed))
        torch.manual_seed(sampler_seed + 100)  # the global seed must not matter
        trainer.step(5)
        histories.append([r.loss for r in trainer.history])
    assert histories[0] == histories[1] != histories[2]
    assert histories[0][0] != histories[2][0]  # the first batches already differ


# ------------------------------------------------------------------------------ divergence


def test_divergence_is_caught_and_the_last_good_weights_are_restored(tiny_moons) -> None:
    # ReLU fields are unbounded: with T = 10 and SGD at lr = 10 the first update makes the field
    # so steep that x(T) ~ exp(10 * Lip F) overflows and the loss becomes inf or NaN.
    cfg = ModelConfig(activation="relu", T=10.0)
    trainer = _trainer(tiny_moons, cfg, TrainConfig(optimizer="sgd", lr=10.0))
    snapshots = [_weights(trainer)]  # snapshots[k]: the weights record k + 1 is measured on
    for _ in range(30):
        if not trainer.step(1):
            break
        snapshots.append(_weights(trainer))
    assert trainer.status == "diverged"
    n_done = trainer.steps_done
    assert 1 <= n_done < 30
    assert f"diverged at step {n_done + 1}" in trainer.message
    assert "restored" in trainer.message
    restored = _weights(trainer)
    assert all(torch.isfinite(v).all() for v in restored.values())
    # The loss became non-finite, so the restored weights are those of the last finite loss:
    # the weights the last recorded step was measured on, with exactly that loss.
    assert _same(restored, snapshots[n_done - 1])
    assert _full_batch_loss(trainer) == pytest.approx(trainer.history[-1].loss, rel=1e-6)
    # A diverged trainer stays stopped.
    assert trainer.step(5) == [] and trainer.steps_done == n_done


def test_solver_giving_up_is_reported_as_divergence(tiny_moons) -> None:
    cfg = ModelConfig(solver="dopri5", rtol=1e-10, atol=1e-10, max_steps=10, T=5.0)
    trainer = _trainer(tiny_moons, cfg, TrainConfig(), double=True)
    before = _weights(trainer)
    assert trainer.step(3) == []
    assert trainer.status == "diverged"
    assert "step 1" in trainer.message and "max-steps bound" in trainer.message
    assert _same(_weights(trainer), before)


# ------------------------------------------------------------------------------ gradients


@pytest.mark.parametrize("time_mode", ["autonomous", "time", "piecewise"])
def test_adjoint_gradients_equal_backprop_gradients(tiny_moons, time_mode: str) -> None:
    cfg = ModelConfig(
        time_mode=time_mode, augment=1, solver="dopri5", rtol=1e-10, atol=1e-10, max_steps=20000
    )
    model = build_model(cfg, n_classes=2, seed=0).double()
    x = torch.as_tensor(tiny_moons.x_train, dtype=torch.float64)
    y = torch.as_tensor(tiny_moons.y_train)
    grads = []
    for adjoint in (False, True):
        model.zero_grad()
        mean_loss(model(x, adjoint=adjoint), y, "cross_entropy").backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    for g_backprop, g_adjoint in zip(*grads, strict=True):
        torch.testing.assert_close(g_adjoint, g_backprop, rtol=1e-6, atol=1e-8)


def test_adjoint_training_step_matches_backprop_and_counts_backward_work(tiny_moons) -> None:
    cfg = ModelConfig(solver="dopri5", rtol=1e-9, atol=1e-9, max_steps=20000)
    # Plain SGD: the update is lr * gradient, so equal gradients give equal weights.
    runs = {}
    for mode in ("backprop", "adjoint"):
        tcfg = TrainConfig(optimizer="sgd", momentum=0.0, lr=0.1, grad_mode=mode, grad_clip=0.0)
        trainer = _trainer(tiny_moons, cfg, tcfg, double=True)
        trainer.step(2)
        runs[mode] = trainer
    backprop, adjoint = runs["backprop"], runs["adjoint"]
    assert adjoint.status == "ok" and len(adjoint.history) == 2
    assert all(r.nfe_backward > 0 for r in adjoint.history)
    assert all(r.nfe_backward == 0 for r in backprop.history)  # autograd never calls the field
    assert all(r.nfe_forward > 0 for r in backprop.history + adjoint.history)
    for name, value in _weights(backprop).items():
        torch.testing.assert_close(_weights(adjoint)[name], value, rtol=1e-6, atol=1e-9)


# ------------------------------------------------------------------------------ records


def test_records_have_the_documented_fields_and_consecutive_steps(tiny_moons) -> None:
    assert StepRecord._fields == FIELDS
    trainer = _trainer(tiny_moons, ModelConfig(family="resnet", layers=4), TrainConfig())
    first = trainer.step(3)
    second = trainer.step(4)
    assert trainer.history == first + second
    assert [r.step for r in trainer.history] == list(range(1, 8))
    for r in trainer.history:
        assert math.isfinite(r.loss) and r.loss > 0 and r.seconds >= 0
        assert 0 <= r.train_acc <= 1 and 0 <= r.test_acc <= 1
        assert r.nfe_forward == 4 and r.nfe_backward == 0
    # Record k is measured on the weights step k started from: step 1 on the initial weights.
    fresh = _trainer(tiny_moons, ModelConfig(family="resnet", layers=4), TrainConfig())
    assert trainer.history[0].loss == pytest.approx(_full_batch_loss(fresh), rel=1e-6)
    assert trainer.history[0].test_acc == evaluate(fresh.model, tiny_moons)["test_acc"]


def test_max_seconds_stops_early_but_always_takes_a_step(tiny_moons) -> None:
    trainer = _trainer(tiny_moons, ModelConfig(steps=2), TrainConfig())
    assert len(trainer.step(1000, max_seconds=0.0)) == 1
    assert len(trainer.step(3, max_seconds=3600.0)) == 3
    assert trainer.steps_done == 4


# ------------------------------------------------------------------------------ default config


def test_default_config_learns_moons() -> None:
    # The app's defaults must give a convincing first run: >= 97 % test accuracy in 300 steps.
    data = make_dataset("moons")
    train_cfg = TrainConfig()
    trainer = _trainer(data, ModelConfig(), train_cfg)
    trainer.step(train_cfg.train_steps)
    assert trainer.status == "ok" and trainer.steps_done == 300
    assert max(r.test_acc for r in trainer.history) >= 0.97
    assert evaluate(trainer.model, data)["test_acc"] >= 0.97


# ------------------------------------------------------------------------------ loss and accuracy


@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_the_loss_of_a_point_is_its_formula_for_one_model_and_for_many(loss: str) -> None:
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 5, 4, generator=gen, dtype=torch.float64)  # (M, N, C)
    y = torch.randint(0, 4, (3, 5), generator=gen)
    p = logits.softmax(dim=-1)
    if loss == "cross_entropy":
        expected = -p.gather(-1, y.unsqueeze(-1)).squeeze(-1).log()
    else:
        expected = ((p - torch.eye(4, dtype=torch.float64)[y]) ** 2).sum(dim=-1)
    torch.testing.assert_close(loss_per_point(logits, y, loss), expected)
    for m in range(3):
        torch.testing.assert_close(loss_per_point(logits[m], y[m], loss), expected[m])
        torch.testing.assert_close(mean_loss(logits[m], y[m], loss), expected[m].mean())
    # Classes along another axis give the same numbers.
    torch.testing.assert_close(loss_per_point(logits.transpose(1, 2), y, loss, dim=1), expected)
    with pytest.raises(ValueError, match="cross_entropy, mse"):
        loss_per_point(logits, y, "hinge")


def test_accuracy_counts_the_right_points_and_no_non_finite_ones() -> None:
    logits = torch.tensor([[[2.0, 1.0], [0.0, 3.0], [1.0, 0.0], [float("nan"), 0.0]]])
    y = torch.tensor([[0, 1, 1, 0]])
    assert accuracy(logits, y).tolist() == [0.5]  # rows 0, 1 right; 2 wrong; 3 not finite
    assert float(accuracy(logits[0, :3], y[0, :3])) == pytest.approx(2 / 3)
