"""Family "feedforward": a plain layer x_{l+1} = h(W_l x_l + B_l) with no skip connection (P4).

h(y) = y + dt g(y) is an activation close to the identity and W_l starts close to I; the paper
shows such a net is the discretisation (P3) of (P1) with w_l = (W_l - I) / dt, b_l = B_l / dt.
"""

from __future__ import annotations

import torch

from deqnet.config import ModelConfig
from deqnet.models.base import DiscreteModel
from deqnet.models.blocks import StackedLinear, small_nonlinearity
from deqnet.models.ruseckas import BIAS_STD, WEIGHT_STD


class FeedForward(DiscreteModel):
    """L plain layers; weights tied ("autonomous") or K sets ("piecewise", K = L untied).

    Parameters: ``linear.w`` = W (K, D, D) initialised I + dt w0, ``linear.b`` = B (K, D)
    initialised dt b0, and the readout. gamma is fixed by the config.
    """

    uses_mlp = False
    uses_gamma = True

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
        """h(y) = y + dt g(y), element-wise."""
        return y + self.dt * small_nonlinearity(self.config, y)

    def step(self, layer: int, x: torch.Tensor) -> torch.Tensor:
        self.nfe += 1
        return self.activation(self.linear(self.segment_of_layer(layer), x))
