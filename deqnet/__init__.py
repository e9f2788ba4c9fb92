"""deqnet: deep networks as differential equations (Ruseckas 2019), small enough to train live.

The public API is what a notebook needs to reproduce a run (README "deqnet from Python"):
configurations, datasets, ``build_model``, training (``Trainer``, ``evaluate``), per-point losses,
paths and momentum, the exact layer <-> time maps, ``sweep``, and the lesson presets.
Everything else stays in its namespace: ``deqnet.analysis`` (vector fields, decision grids,
divergence, volumes, checks, ...), ``deqnet.figures`` (Plotly builders), ``deqnet.sharing`` (links
and run files), ``deqnet.models``, ``deqnet.losses``. Importing deqnet never imports streamlit.
"""

from deqnet._process import tune_process

tune_process()

from deqnet import analysis, figures, sharing  # noqa: E402
from deqnet.analysis import Momentum, Trajectory, momentum, per_sample_loss, trajectory  # noqa: E402
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
from deqnet.datasets import DATASETS, Dataset, DatasetError, make_dataset  # noqa: E402
from deqnet.maps import continuize, discretize  # noqa: E402
from deqnet.models import SolverFailure, build_model  # noqa: E402
from deqnet.presets import PRESETS, Preset  # noqa: E402
from deqnet.sweep import SweepResult, sweep  # noqa: E402
from deqnet.training import StepRecord, Trainer, evaluate  # noqa: E402

__all__ = [
    "DATASETS",
    "FAMILIES",
    "LIMITS",
    "PRESETS",
    "TIME_MODES",
    "ConfigError",
    "DataConfig",
    "Dataset",
    "DatasetError",
    "ModelConfig",
    "Momentum",
    "Preset",
    "RunConfig",
    "SolverFailure",
    "StepRecord",
    "SweepResult",
    "TrainConfig",
    "Trainer",
    "Trajectory",
    "analysis",
    "build_model",
    "continuize",
    "discretize",
    "evaluate",
    "figures",
    "make_dataset",
    "momentum",
    "per_sample_loss",
    "sharing",
    "sweep",
    "trajectory",
]
