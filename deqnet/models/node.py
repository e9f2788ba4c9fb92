"""Family "node": a neural ODE dx/dt = F(x, t) with F a small MLP (M1)."""

from __future__ import annotations

import torch

from deqnet.config import ModelConfig
from deqnet.models.base import ContinuousModel
from deqnet.models.blocks import StackedMLP


class NeuralODE(ContinuousModel):
    """F(x, t) = W2 act(W1 [x, t?] + b1) + b2; one weight set per segment (K = 1 unless piecewise).

    Parameters: ``mlp`` (a StackedMLP with K sets) and the readout.
    """

    uses_mlp = True
    uses_gamma = False

    def __init__(self, config: ModelConfig, n_classes: int, generator: torch.Generator) -> None:
        super().__init__(config, n_classes, generator)
        self.mlp = StackedMLP(config, config.n_segments, generator)

    def segment_function(self, segment: int):
        return self.mlp.bind(segment)
