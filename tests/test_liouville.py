"""Liouville: the (x, a) flow keeps volume (det = 1); the x flow does not (exact linear cases)."""

import numpy as np
import pytest
import torch

from deqnet import ModelConfig, build_model
from deqnet.analysis.liouville import joint_flow_determinant, x_flow_determinant

TIGHT = {"solver": "dopri5", "rtol": 1e-10, "atol": 1e-10, "max_steps": 20000}


def model_of(seed: int = 3, **config):
    return build_model(ModelConfig(**config), n_classes=2, seed=seed).double()


def points(n: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return (torch.rand(n, 2, generator=g, dtype=torch.float64) - 0.5) * 3, torch.arange(n) % 2


@pytest.mark.parametrize(
    ("config", "t"),
    [
        ({"family": "node"}, None),
        ({"family": "ruseckas", "gamma": 0.5}, None),
        ({"family": "node", "time_mode": "piecewise", "segments": 3}, None),
        ({"family": "node", "time_mode": "piecewise", "segments": 3}, 0.45),
        ({"family": "node", "time_mode": "time", "augment": 1}, 0.45),
    ],
    ids=["node", "ruseckas", "node-piecewise", "node-piecewise-mid", "node-time-augmented-mid"],
)
def test_joint_flow_keeps_phase_volume(config, t):
    # Symplectic for any Hamiltonian, time-dependent ones included.
    model = model_of(**config, **TIGHT)
    x, y = points()
    det = joint_flow_determinant(model, x, y, t=t)
    assert det.shape == (5,)
    np.testing.assert_allclose(det, 1.0, rtol=0, atol=1e-6)
    # ... while x alone is squeezed or stretched.
    assert np.abs(np.log(np.abs(x_flow_determinant(model, x, t=t)))).max() > 1e-3


def test_a_coarse_euler_flow_is_not_volume_preserving():
    # Explicit Euler is not symplectic: with h = 0.5 the computed (x, a) map misses det = 1.
    model = model_of(family="node", solver="euler", steps=2)
    x, y = points()
    assert np.abs(joint_flow_determinant(model, x, y) - 1).max() > 1e-3


@pytest.mark.parametrize("segments", [1, 3])
def test_linear_x_flow_determinant_is_exp_of_trace_integral(segments):
    # Liouville's formula for dx/dt = w_k x + b_k: det = prod_k exp(tr(w_k) T / K), exactly.
    mode = "piecewise" if segments > 1 else "autonomous"
    model = model_of(family="ruseckas", gamma=0.0, time_mode=mode, segments=segments, **TIGHT)
    x, _ = points()
    traces = torch.diagonal(model.linear.w.detach(), dim1=1, dim2=2).sum(1)
    expected = float(torch.exp(traces.sum() * model.config.T / segments))
    np.testing.assert_allclose(x_flow_determinant(model, x), expected, rtol=1e-8)


def test_feedforward_x_flow_determinant_is_the_product_of_layer_determinants():
    model = model_of(family="feedforward", gamma=0.0, time_mode="piecewise", segments=10)
    x, _ = points()
    dets = torch.linalg.det(model.linear.w.detach()).numpy()
    np.testing.assert_allclose(x_flow_determinant(model, x), np.prod(dets), rtol=1e-12)
    # At t = 0.3 (dt = 0.1) only the first three layers have acted.
    np.testing.assert_allclose(x_flow_determinant(model, x, t=0.3), np.prod(dets[:3]), rtol=1e-12)


def test_determinants_leave_the_model_as_it_was_and_reject_networks():
    model = model_of(family="node")
    model.nfe = 5
    x, y = points()
    joint_flow_determinant(model, x, y)
    x_flow_determinant(model, x)
    assert model.nfe == 5
    assert all(p.grad is None for p in model.parameters())
    with pytest.raises(TypeError, match="continuous"):
        joint_flow_determinant(model_of(family="resnet"), x, y)
    np.testing.assert_allclose(joint_flow_determinant(model, x, y, t=0.0), 1.0, atol=1e-15)
