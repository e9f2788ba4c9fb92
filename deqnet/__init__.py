"""deqnet: deep networks as differential equations (Ruseckas 2019), small enough to train live.

The public API (see README): datasets, model configs and families, training, and the analysis and
figure builders the app's pages use. Importing deqnet never imports streamlit.
"""

import torch

# Tiny models are dominated by per-op overhead; one thread is faster and fair to other sessions.
torch.set_num_threads(1)

from deqnet.config import (  # noqa: E402
    FAMILIES,
    LIMITS,
    TIME_MODES,
    ConfigError,
    DataConfig,
    ModelConfig,
    RunConfig,
    TrainConfig,
)
from deqnet.datasets import DATASETS, Dataset, DatasetError, load_csv, make_dataset  # noqa: E402
from deqnet.models import REGISTRY, SolverFailure, build_model  # noqa: E402
from deqnet.training import StepRecord, Trainer, evaluate  # noqa: E402

__all__ = [
    "DATASETS",
    "FAMILIES",
    "LIMITS",
    "REGISTRY",
    "TIME_MODES",
    "ConfigError",
    "DataConfig",
    "Dataset",
    "DatasetError",
    "ModelConfig",
    "RunConfig",
    "SolverFailure",
    "StepRecord",
    "TrainConfig",
    "Trainer",
    "build_model",
    "evaluate",
    "load_csv",
    "make_dataset",
]
