"""deqnet: deep networks as differential equations (Ruseckas 2019), small enough to train live.

The public API (see README): datasets, model configs and families, training, and the analysis and
figure builders the app's pages use. Importing deqnet never imports streamlit.
"""

import torch

# Tiny models are dominated by per-op overhead; one thread is faster and fair to other sessions.
torch.set_num_threads(1)

from deqnet import sharing  # noqa: E402  (a module: deqnet.sharing.run_from_query, ...)
from deqnet.analysis import (  # noqa: E402
    Check,
    DecisionGrid,
    GridFlow,
    Momentum,
    Trajectory,
    VectorField,
    adjoint_parameter_gradients,
    autograd_input_gradient,
    autograd_parameter_gradients,
    cloud_log_volume,
    decision_grid,
    default_times,
    deformed_grid,
    depth_sensitivity,
    divergence,
    jacobian_logdet,
    joint_flow_determinant,
    log_volume_change,
    mean_divergence,
    momentum,
    per_sample_loss,
    plot_extent,
    run_checks,
    trajectory,
    vector_field_grid,
    x_flow_determinant,
)
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
from deqnet.maps import continuize, discretize  # noqa: E402
from deqnet.models import REGISTRY, SolverFailure, build_model  # noqa: E402
from deqnet.presets import PRESETS, Preset  # noqa: E402
from deqnet.sweep import SweepResult, sweep  # noqa: E402
from deqnet.training import StepRecord, Trainer, evaluate  # noqa: E402

__all__ = [
    "DATASETS",
    "FAMILIES",
    "LIMITS",
    "PRESETS",
    "REGISTRY",
    "TIME_MODES",
    "Check",
    "ConfigError",
    "DataConfig",
    "Dataset",
    "DatasetError",
    "DecisionGrid",
    "GridFlow",
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
    "VectorField",
    "adjoint_parameter_gradients",
    "autograd_input_gradient",
    "autograd_parameter_gradients",
    "build_model",
    "cloud_log_volume",
    "continuize",
    "decision_grid",
    "default_times",
    "deformed_grid",
    "depth_sensitivity",
    "discretize",
    "divergence",
    "evaluate",
    "jacobian_logdet",
    "joint_flow_determinant",
    "load_csv",
    "log_volume_change",
    "make_dataset",
    "mean_divergence",
    "momentum",
    "per_sample_loss",
    "plot_extent",
    "run_checks",
    "sharing",
    "sweep",
    "trajectory",
    "vector_field_grid",
    "x_flow_determinant",
]
