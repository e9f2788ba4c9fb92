"""Family "ruseckas": the paper's equation (P1), dx/dt = w(t) x + b(t) + g(x)."""

from __future__ import annotations

import torch

from deqnet.config import ModelConfig
from deqnet.families import FAMILY_TABLE
from deqnet.models.base import ContinuousModel
from deqnet.models.blocks import (
    LinearWeights,
    StackedLinear,
    affine,
    bind_linear,
    small_nonlinearity,
)
from deqnet.models.stack import Stack

# Initial spread of w and b: a gentle linear field, so the untrained flow is close to the identity.
WEIGHT_STD = 0.5
BIAS_STD = 0.2


class RuseckasODE(ContinuousModel):
    """F(x, t) = w_k x + b_k + g(x) on segment k; g(x) = -gamma x^3 (or -gamma sin x).

    Parameters: ``linear.w`` (K, D, D), ``linear.b`` (K, D) and the readout; gamma is fixed by the
    config (a hyperparameter, not trained).
    """

    family = FAMILY_TABLE["ruseckas"]

    def __init__(self, config: ModelConfig, n_classes: int, generator: torch.Generator) -> None:
        super().__init__(config, n_classes, generator)
        self.linear = StackedLinear(
            config.dim, config.n_segments, generator, weight_std=WEIGHT_STD, bias_std=BIAS_STD
        )

    @staticmethod
    def stack_weights(stack: Stack, k, scale: torch.Tensor | None) -> LinearWeights:
        return bind_linear(stack.tensors, k, stack.config, stack.neg_gamma, scale=scale)

    @staticmethod
    def stack_field(weights: LinearWeights, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        g = small_nonlinearity(weights.neg_gamma, weights.nonlinearity, x)
        return affine(weights, x) + g
