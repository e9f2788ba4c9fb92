"""tanh as 2 sigmoid(2x) - 1 in float32: the same function, five times cheaper on this CPU.

torch.tanh costs about 2.6 ns per float32 element here, sigmoid(2x) * 2 - 1 about 0.5 ns
(measured 2026-12-02, 91k elements, one thread), and the MLP families spend a third of a training
step in tanh. The backward is torch's own tanh_backward, g (1 - y^2), on the saved output, so
gradients (and double backward) follow the same formula as torch.tanh's.

float64 keeps torch.tanh: 2 sigmoid(2x) - 1 cancels for small |x| (an absolute error of one
ulp of 1, a relative error of about eps / |x|), well below float32's resolution but not
float64's, whose comparisons against analytic results are tight.
"""

from __future__ import annotations

import torch


def _sigmoid_form(x: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(x * 2).mul_(2).sub_(1)


class _SigmoidTanh(torch.autograd.Function):
    # The ctx-in-forward form and the resolved ``.default`` overload: each saves microseconds
    # per call over setup_context and the op packet, which the lone models' small tensors feel.
    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        y = _sigmoid_form(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (y,) = ctx.saved_tensors
        return torch.ops.aten.tanh_backward.default(grad, y)


def tanh(x: torch.Tensor) -> torch.Tensor:
    """tanh(x), element-wise, any shape; float32 through the sigmoid form, else torch.tanh."""
    if x.dtype != torch.float32:
        return torch.tanh(x)
    if torch.is_grad_enabled() and x.requires_grad:
        return _SigmoidTanh.apply(x)
    return _sigmoid_form(x)
