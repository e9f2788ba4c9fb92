"""Family "feedforward": a plain layer x_{l+1} = h(W_l x_l + B_l) with no skip connection (P4).

h(y) = y + dt g(y) is an activation close to the identity and W_l starts close to I; the paper
shows such a net is the discretisation (P3) of (P1) with w_l = (W_l - I) / dt, b_l = B_l / dt.
"""

from __future__ import annotations

import torch

from deqnet.config import ModelConfig
from deqnet.families import FAMILY_TABLE
from deqnet.models.base import DiscreteModel
from deqnet.models.blocks import (
    LinearWeights,
    StackedLinear,
    affine,
    bind_linear,
    small_nonlinearity,
)
from deqnet.models.ruseckas import BIAS_STD, WEIGHT_STD
from deqnet.models.stack import Stack


class FeedForward(DiscreteModel):
    """L plain layers; weights tied ("autonomous") or K sets ("piecewise", K = L untied).

    Parameters: ``linear.w`` = W (K, D, D) initialised I + dt w0, ``linear.b`` = B (K, D)
    initialised dt b0, and the readout. gamma is fixed by the config.
    """

    family = FAMILY_TABLE["feedforward"]

    def __init__(self, config: ModelConfig, n_classes: int, generator: torch.Generator) -> None:
        super().__init__(config, n_classes, generator)
        self.linear = StackedLinear(
            config.dim,
            config.n_segments,
            generator,
            weight_std=WEIGHT_STD,
            bias_std=BIAS_STD,
            scale=self.dt,
            identity=True,
        )

    def activation(self, y: torch.Tensor) -> torch.Tensor:
        """h(y) = y + dt g(y), element-wise (any shape)."""
        return FeedForward.squash(-self.config.gamma, self.config.nonlinearity, self.dt, y)

    @staticmethod
    def squash(neg_gamma, nonlinearity: str, dt, y: torch.Tensor) -> torch.Tensor:
        """h(y) = y + dt g(y); ``neg_gamma`` and ``dt`` floats or (M, 1, 1)."""
        return y + dt * small_nonlinearity(neg_gamma, nonlinearity, y)

    @staticmethod
    def stack_weights(stack: Stack, k, scale: torch.Tensor | None) -> LinearWeights:
        return bind_linear(stack.tensors, k, stack.config, stack.neg_gamma)

    @staticmethod
    def stack_layer(
        weights: LinearWeights, x: torch.Tensor, dt: torch.Tensor, t: torch.Tensor | None
    ) -> torch.Tensor:
        y = affine(weights, x)
        return FeedForward.squash(weights.neg_gamma, weights.nonlinearity, dt, y)
