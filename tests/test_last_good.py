"""LastGood puts a model's weights and its optimiser's state back exactly as they were saved."""

import pytest
import torch

from deqnet import ModelConfig, TrainConfig, build_model
from deqnet.last_good import LastGood
from deqnet.training import make_optimizer


def _setup(optimizer: str):
    model = build_model(ModelConfig(family="node", width=8), n_classes=2, seed=0).double()
    opt = make_optimizer(model.parameters(), TrainConfig(optimizer=optimizer, lr=0.1))
    x = torch.randn(32, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    y = (x[:, 0] > 0).long()
    return model, opt, x, y


def _step(model, opt, x, y) -> None:
    opt.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()


def _state(model, opt) -> list[torch.Tensor]:
    tensors = [p.detach().clone() for p in model.parameters()]
    for p in model.parameters():
        tensors += [v.clone() for v in opt.state.get(p, {}).values() if torch.is_tensor(v)]
    return tensors


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_restore_puts_back_weights_and_moments_saved_mid_training(optimizer):
    model, opt, x, y = _setup(optimizer)
    good = LastGood(list(model.parameters()), opt)
    _step(model, opt, x, y)
    _step(model, opt, x, y)
    good.take()
    saved = _state(model, opt)
    _step(model, opt, x, y)
    _step(model, opt, x, y)
    good.restore()
    restored = _state(model, opt)
    assert len(restored) == len(saved)
    for a, b in zip(restored, saved, strict=True):
        assert torch.equal(a, b)
    # And the next step from there equals the step taken from the saved state the first time.
    twin, twin_opt, _, _ = _setup(optimizer)
    for _ in range(2):
        _step(twin, twin_opt, x, y)
    _step(model, opt, x, y)
    _step(twin, twin_opt, x, y)
    for a, b in zip(_state(model, opt), _state(twin, twin_opt), strict=True):
        assert torch.equal(a, b)


def test_restore_to_before_the_first_step_leaves_a_fresh_optimiser():
    model, opt, x, y = _setup("adam")
    initial = [p.detach().clone() for p in model.parameters()]
    good = LastGood(list(model.parameters()), opt)
    _step(model, opt, x, y)
    assert opt.state  # Adam made its moments
    good.restore()
    assert not opt.state
    for p, p0 in zip(model.parameters(), initial, strict=True):
        assert torch.equal(p, p0)


def test_state_loaded_into_the_optimiser_is_the_state_saved_and_restored():
    # load_state_dict gives every parameter new state tensors: a snapshot taken afterwards must
    # save and restore those, not the ones it saw before.
    model, opt, x, y = _setup("adam")
    good = LastGood(list(model.parameters()), opt)
    _step(model, opt, x, y)
    good.take()
    twin, twin_opt, _, _ = _setup("adam")
    for _ in range(3):
        _step(twin, twin_opt, x, y)
    opt.load_state_dict(twin_opt.state_dict())
    good.take()
    saved = _state(model, opt)
    _step(model, opt, x, y)
    good.restore()
    for a, b in zip(_state(model, opt), saved, strict=True):
        assert torch.equal(a, b)
