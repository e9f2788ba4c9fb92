"""Family "ruseckas": the paper's equation (P1), dx/dt = w(t) x + b(t) + g(x)."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from deqnet.config import ModelConfig
from deqnet.models.base import ContinuousModel
from deqnet.models.blocks import StackedLinear, small_nonlinearity

# Initial spread of w and b: a gentle linear field, so the untrained flow is close to the identity.
WEIGHT_STD = 0.5
BIAS_STD = 0.2


class RuseckasODE(ContinuousModel):
    """F(x, t) = w_k x + b_k + g(x) on segment k; g(x) = -gamma x^3 (or -gamma sin x).

    Parameters: ``linear.w`` (K, D, D), ``linear.b`` (K, D) and the readout; gamma is fixed by the
    config (a hyperparameter, not trained).
    """

    uses_mlp = False
    uses_gamma = True

    def __init__(self, config: ModelConfig, n_classes: int, generator: torch.Generator) -> None:
        super().__init__(config, n_classes, generator)
        self.linear = StackedLinear(
            config.dim, config.n_segments, generator, weight_std=WEIGHT_STD, bias_std=BIAS_STD
        )

    def segment_function(self, segment: int):
        w, b, config = self.linear.w[segment], self.linear.b[segment], self.config
        return lambda t, x: F.linear(x, w, b) + small_nonlinearity(config, x)
