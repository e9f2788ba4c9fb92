"""``fast_tanh.tanh``: torch.tanh's values and derivatives, by another formula in float32.

Oracle: torch.tanh (float64 for the exact values, autograd for the derivatives).
"""

from __future__ import annotations

import torch

from deqnet.models.blocks import ACTIVATION_FUNCTIONS
from deqnet.models.fast_tanh import tanh


def _points() -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(20_000, generator=generator) * 4
    return torch.cat([x, torch.tensor([0.0, 1e-8, -1e-8, 30.0, -30.0, 100.0, -100.0])])


def test_float32_values_are_tanh_to_a_few_ulps_of_one():
    x = _points()
    exact = torch.tanh(x.double())
    error = (tanh(x).double() - exact).abs().max().item()
    assert error < 4 * torch.finfo(torch.float32).eps
    assert tanh(x).dtype == torch.float32
    assert tanh(x).abs().max().item() <= 1.0


def test_float64_is_torch_tanh_exactly():
    x = _points().double().requires_grad_()
    assert torch.equal(tanh(x), torch.tanh(x))


def test_first_and_second_derivatives_follow_torch_tanh():
    x = _points()[:2000].requires_grad_()
    ref = x.detach().clone().requires_grad_()
    weights = torch.linspace(-1, 1, len(x))
    (grad,) = torch.autograd.grad((tanh(x) * weights).sum(), x, create_graph=True)
    (ref_grad,) = torch.autograd.grad((torch.tanh(ref) * weights).sum(), ref, create_graph=True)
    torch.testing.assert_close(grad, ref_grad, rtol=0, atol=4e-7)
    (second,) = torch.autograd.grad(grad.sum(), x)
    (ref_second,) = torch.autograd.grad(ref_grad.sum(), ref)
    torch.testing.assert_close(second, ref_second, rtol=0, atol=2e-6)


def test_without_gradients_the_values_are_those_of_the_autograd_path():
    x = _points()
    with_grad = tanh(x.clone().requires_grad_()).detach()
    with torch.no_grad():
        assert torch.equal(tanh(x), with_grad)


def test_the_models_use_it():
    assert ACTIVATION_FUNCTIONS["tanh"] is tanh
