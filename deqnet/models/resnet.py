"""Family "resnet": x_{l+1} = x_l + dt f_l(x_l), an Euler step of (M1) per layer."""

from __future__ import annotations

import torch

from deqnet.config import ModelConfig
from deqnet.families import FAMILY_TABLE
from deqnet.models.base import DiscreteModel
from deqnet.models.blocks import MLPWeights, StackedMLP, apply_mlp, bind_mlp
from deqnet.models.stack import Stack


class ResNet(DiscreteModel):
    """Residual MLP blocks with step dt = T / L.

    Tied (time mode "autonomous"): one block for all layers; "time": one block fed t_l = l dt;
    "piecewise": K blocks spread over the layers (K = L is fully untied).
    Parameters: ``mlp`` (a StackedMLP with K sets) and the readout.
    """

    family = FAMILY_TABLE["resnet"]

    def __init__(self, config: ModelConfig, n_classes: int, generator: torch.Generator) -> None:
        super().__init__(config, n_classes, generator)
        self.mlp = StackedMLP(config, config.n_segments, generator)

    @staticmethod
    def stack_weights(stack: Stack, k, scale: torch.Tensor | None) -> MLPWeights:
        return bind_mlp(stack.tensors, k, stack.config, hidden_mask=stack.hidden_mask)

    @staticmethod
    def stack_layer(
        weights: MLPWeights, x: torch.Tensor, dt: torch.Tensor, t: torch.Tensor | None
    ) -> torch.Tensor:
        return x + dt * apply_mlp(weights, t, x)
