"""Model families and their registry: ``build_model(config, n_classes, seed)``."""

from __future__ import annotations

import torch

from deqnet.config import ConfigError, ModelConfig
from deqnet.models.base import ContinuousModel, DeqModel, DiscreteModel
from deqnet.models.feedforward import FeedForward
from deqnet.models.node import NeuralODE
from deqnet.models.resnet import ResNet
from deqnet.models.ruseckas import RuseckasODE
from deqnet.models.solver import SolverFailure

REGISTRY: dict[str, type[DeqModel]] = {
    "node": NeuralODE,
    "ruseckas": RuseckasODE,
    "resnet": ResNet,
    "feedforward": FeedForward,
}


def build_model(config: ModelConfig, n_classes: int = 2, seed: int = 0) -> DeqModel:
    """A new model of ``config.family``; same (config, n_classes, seed) => same weights.

    ``n_classes`` is the number of outputs of the readout: the classes, or 1 for regression.

    Initial weights come from a private torch.Generator, never from the process-global seed
    (a Streamlit server shares that between all sessions).
    """
    if config.family not in REGISTRY:
        raise ConfigError(f"unknown family {config.family!r}; choose one of {', '.join(REGISTRY)}")
    if not 1 <= int(n_classes) <= 10:
        raise ConfigError(f"n_classes={n_classes!r} is out of range; allowed 1 to 10")
    generator = torch.Generator().manual_seed(int(seed))
    return REGISTRY[config.family](config, int(n_classes), generator)


__all__ = [
    "REGISTRY",
    "ContinuousModel",
    "DeqModel",
    "DiscreteModel",
    "FeedForward",
    "NeuralODE",
    "ResNet",
    "RuseckasODE",
    "SolverFailure",
    "build_model",
]
