"""Analysis of a trained model: arrays out, no plotting, no Streamlit.

paths (trajectories, per-point loss), grids (decision and vector-field grids, the deformed grid) and
volume (divergence, x-space volume change); adjoint, liouville and checks add the phase-space side.
Layers against time, in three topics: depth (a network's layers on its ODE's paths, convergence as
L grows, accuracy against L), identity (‖W_l − I‖, h(y) and its monotonicity limit) and topology
(layer determinants, folds, the disk-and-ring region and its snapshots).
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
from deqnet.analysis.depth import (
    Convergence,
    DepthAccuracy,
    LayerPaths,
    accuracy_versus_layers,
    convergence_layers,
    convergence_study,
    fit_power_law,
    layer_paths,
    network_of,
    reference_ode,
    valid_layers,
)
from deqnet.analysis.grids import (
    DecisionGrid,
    GridFlow,
    VectorField,
    decision_grid,
    deformed_grid,
    plot_extent,
    vector_field_grid,
)
from deqnet.analysis.identity import (
    ActivationCurve,
    LayerWeights,
    activation_curve,
    layer_weights,
    monotonicity_limit,
)
from deqnet.analysis.liouville import joint_flow_determinant, x_flow_determinant
from deqnet.analysis.paths import Trajectory, default_times, per_sample_loss, trajectory
from deqnet.analysis.topology import (
    Crossings,
    TopologySnapshots,
    TurnedOver,
    detect_crossings,
    disk_and_ring_grid,
    layer_determinants,
    linear_boundary,
    topology_snapshots,
    turned_over,
)
from deqnet.analysis.volume import (
    cloud_log_volume,
    divergence,
    jacobian_logdet,
    log_volume_change,
    mean_divergence,
)

__all__ = [
    "STATUSES",
    "ActivationCurve",
    "Check",
    "Convergence",
    "Crossings",
    "DecisionGrid",
    "DepthAccuracy",
    "GridFlow",
    "LayerPaths",
    "LayerWeights",
    "Momentum",
    "TopologySnapshots",
    "Trajectory",
    "TurnedOver",
    "VectorField",
    "accuracy_versus_layers",
    "activation_curve",
    "adjoint_parameter_gradients",
    "autograd_input_gradient",
    "autograd_parameter_gradients",
    "check_points",
    "cloud_log_volume",
    "convergence_layers",
    "convergence_study",
    "decision_grid",
    "default_times",
    "deformed_grid",
    "depth_sensitivity",
    "detect_crossings",
    "disk_and_ring_grid",
    "divergence",
    "fit_power_law",
    "jacobian_logdet",
    "joint_flow_determinant",
    "layer_determinants",
    "layer_paths",
    "layer_weights",
    "linear_boundary",
    "log_volume_change",
    "mean_divergence",
    "momentum",
    "monotonicity_limit",
    "network_of",
    "per_sample_loss",
    "plot_extent",
    "reference_ode",
    "run_checks",
    "topology_snapshots",
    "trajectory",
    "turned_over",
    "valid_layers",
    "vector_field_grid",
    "x_flow_determinant",
]
