"""Family "resnet": x_{l+1} = x_l + dt f_l(x_l), an Euler step of (M1) per layer."""

from __future__ import annotations

import torch

from deqnet.models.base import DiscreteModel
from deqnet.models.blocks import MLPFamily


class ResNet(MLPFamily, DiscreteModel):
    """Residual MLP blocks with step dt = T / L.

    Tied (time mode "autonomous"): one block for all layers; "time": one block fed t_l = l dt;
    "piecewise": K blocks spread over the layers (K = L is fully untied).
    Parameters: ``mlp`` (a StackedMLP with K sets) and the readout.
    """

    def residual(self, layer: int, x: torch.Tensor) -> torch.Tensor:
        """f_l(x_l) (N, D): the block's output before it is scaled by dt."""
        self.nfe += 1
        return self.mlp(self.segment_of_layer(layer), layer * self.dt, x)

    def step(self, layer: int, x: torch.Tensor) -> torch.Tensor:
        return x + self.dt * self.residual(layer, x)
