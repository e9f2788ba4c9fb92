"""Family "node": a neural ODE dx/dt = F(x, t) with F a small MLP (M1)."""

from __future__ import annotations

import torch

from deqnet.config import ModelConfig
from deqnet.families import FAMILY_TABLE
from deqnet.models.base import ContinuousModel
from deqnet.models.blocks import MLPWeights, StackedMLP, apply_mlp, bind_mlp
from deqnet.models.stack import Stack


class NeuralODE(ContinuousModel):
    """F(x, t) = W2 act(W1 [x, t?] + b1) + b2; one weight set per segment (K = 1 unless piecewise).

    Parameters: ``mlp`` (a StackedMLP with K sets) and the readout.
    """

    family = FAMILY_TABLE["node"]

    def __init__(self, config: ModelConfig, n_classes: int, generator: torch.Generator) -> None:
        super().__init__(config, n_classes, generator)
        self.mlp = StackedMLP(config, config.n_segments, generator)

    @staticmethod
    def stack_weights(stack: Stack, k, scale: torch.Tensor | None) -> MLPWeights:
        return bind_mlp(stack.tensors, k, stack.config, scale=scale, hidden_mask=stack.hidden_mask)

    @staticmethod
    def stack_field(weights: MLPWeights, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return apply_mlp(weights, t, x)
