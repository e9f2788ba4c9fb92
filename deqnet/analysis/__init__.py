"""Analysis of a trained model: arrays out, no plotting, no Streamlit.

paths (trajectories, per-point loss), grids (decision and vector-field grids, the deformed grid) and
volume (divergence, x-space volume change); adjoint, liouville and checks add the phase-space side.
"""

from deqnet.analysis.adjoint import (
    Momentum,
    adjoint_parameter_gradients,
    autograd_input_gradient,
    autograd_parameter_gradients,
    depth_sensitivity,
    momentum,
)
from deqnet.analysis.checks import STATUSES, Check, check_points, run_checks
from deqnet.analysis.grids import (
    DecisionGrid,
    GridFlow,
    VectorField,
    decision_grid,
    deformed_grid,
    plot_extent,
    vector_field_grid,
)
from deqnet.analysis.liouville import joint_flow_determinant, x_flow_determinant
from deqnet.analysis.paths import Trajectory, default_times, per_sample_loss, trajectory
from deqnet.analysis.volume import (
    cloud_log_volume,
    divergence,
    jacobian_logdet,
    log_volume_change,
    mean_divergence,
)

__all__ = [
    "STATUSES",
    "Check",
    "DecisionGrid",
    "GridFlow",
    "Momentum",
    "Trajectory",
    "VectorField",
    "adjoint_parameter_gradients",
    "autograd_input_gradient",
    "autograd_parameter_gradients",
    "check_points",
    "cloud_log_volume",
    "decision_grid",
    "default_times",
    "deformed_grid",
    "depth_sensitivity",
    "divergence",
    "jacobian_logdet",
    "joint_flow_determinant",
    "log_volume_change",
    "mean_divergence",
    "momentum",
    "per_sample_loss",
    "plot_extent",
    "run_checks",
    "trajectory",
    "vector_field_grid",
    "x_flow_determinant",
]
