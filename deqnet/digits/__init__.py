"""Digits: a near-identity convolutional network on 8×8 handwritten digits is an ODE (notes §5, §6).

The 2-D families act on points; this package applies the same construction to images. The state
is an image of C channels, the linear part of (P1) is a 3×3 convolution, and the plain network
x_{l+1} = h(W_l ∗ x_l + B_l) is the Euler-type discretisation (P3)/(P4) of

    dx/dt = w(t) ∗ x + b(t) − γ x³.

Modules: ``data`` (scikit-learn's digits, split by a seed), ``models`` (``ConvFeedForward``,
``ConvODE``, ``discretize``/``continuize``), ``training`` (``DigitsTrainer``) and ``analysis``
(activation and momentum maps, H along depth, convergence, confusion matrix). No streamlit.
"""

from deqnet.digits.data import DigitsDataset, load_digits_dataset
from deqnet.digits.models import (
    ConvFeedForward,
    ConvODE,
    DigitsConfig,
    continuize,
    discretize,
)
from deqnet.digits.training import DigitsTrainConfig, DigitsTrainer

__all__ = [
    "ConvFeedForward",
    "ConvODE",
    "DigitsConfig",
    "DigitsDataset",
    "DigitsTrainConfig",
    "DigitsTrainer",
    "continuize",
    "discretize",
    "load_digits_dataset",
]
