"""Family "node": a neural ODE dx/dt = F(x, t) with F a small MLP (M1)."""

from __future__ import annotations

from deqnet.models.base import ContinuousModel
from deqnet.models.blocks import MLPFamily


class NeuralODE(MLPFamily, ContinuousModel):
    """F(x, t) = W2 act(W1 [x, t?] + b1) + b2; one weight set per segment (K = 1 unless piecewise).

    Parameters: ``mlp`` (a StackedMLP with K sets) and the readout.
    """

    def segment_function(self, segment: int):
        return self.mlp.bind(segment)
