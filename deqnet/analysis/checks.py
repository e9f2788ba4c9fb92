"""The live checks panel: the paper's identities (notes §7) measured on the user's model.

``run_checks`` works on a float64 copy solved with dopri5 at rtol = atol = 1e-10, so an identity
that holds in exact arithmetic shows up as an error of ~1e-9 against tolerances of 1e-6 (1e-4 for
the finite difference in T). The individual ``check_*`` functions use the model as given: with a
coarse solver or float32 they fail, and they should.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch

from deqnet.analysis.adjoint import (
    adjoint_parameter_gradients,
    autograd_input_gradient,
    autograd_parameter_gradients,
    depth_sensitivity,
    momentum,
    rebuild_model,
)
from deqnet.analysis.liouville import joint_flow_determinant, x_flow_determinant
from deqnet.datasets import Dataset, balanced_sample
from deqnet.maps import continuize
from deqnet.models.base import ContinuousModel, DeqModel, SolverFailure
from deqnet.models.solver import explain_solver_failure

TIGHT_SOLVER = {"solver": "dopri5", "rtol": 1e-10, "atol": 1e-10, "max_steps": 20000}

# What a row can say. "pass"/"fail" compare with a tolerance; "expected drift" reports a quantity
# the maths says is *not* conserved in this model (shown for contrast, not a failure).
STATUSES = ("pass", "fail", "expected drift")


@dataclass(frozen=True)
class Check:
    """One row of the checks panel.

    Attributes:
        name: what is compared, in words.
        value: the quantity measured (e.g. |a(0)| from the adjoint ODE).
        reference: what it should equal (e.g. |dℓ/dx(0)| by autograd).
        error: the discrepancy compared with ``tolerance`` (relative unless the name says).
        tolerance: the largest error a correct float64 tight solve leaves.
        passed: False only when the identity applies to this model and the error exceeds the
            tolerance (or the solver failed).
        proves: one line for a student: what the agreement shows.
        status: "pass", "fail" or "expected drift" (see ``STATUSES``).
        note: extra context shown under the row (jump sizes, the x-only volume, solver errors).
    """

    name: str
    value: float
    reference: float
    error: float
    tolerance: float
    passed: bool
    proves: str
    status: str = "pass"
    note: str = ""


def _compare(
    name: str, value: float, reference: float, error: float, tolerance: float, proves: str, **kw
) -> Check:
    """A pass/fail row: passed when the error is finite and within the tolerance."""
    passed = bool(np.isfinite(error) and error <= tolerance)
    status = "pass" if passed else "fail"
    return Check(
        name, float(value), float(reference), float(error), tolerance, passed, proves, status, **kw
    )


def check_adjoint(model: ContinuousModel, x: np.ndarray, y: np.ndarray) -> Check:
    """a(0) from the backward adjoint ODE vs autograd's dℓ/dx(0); relative error over all points.

    One norm over all points, not one per point: a confidently classified point has a gradient
    of ~1e-9, whose own relative rounding error (1 - softmax in float64) is already ~1e-7.
    """
    a0 = momentum(model, x, y, times=np.array([0.0, model.config.T])).a[0]
    grad = autograd_input_gradient(model, x, y)
    error = np.linalg.norm(a0 - grad) / np.linalg.norm(grad)
    return _compare(
        "adjoint ODE a(0) = autograd gradient dℓ/dx(0)",
        np.linalg.norm(a0),
        np.linalg.norm(grad),
        error,
        1e-6,
        "Back-propagation is the adjoint ODE run backwards: a(t) is the loss gradient dℓ/dx(t).",
    )


def _check_times(model: ContinuousModel) -> np.ndarray:
    """Times for H: 41 uniform ones, or for piecewise weights points strictly inside segments."""
    bounds = model.segment_bounds().numpy()
    k = model.config.n_segments
    if k == 1:
        return np.linspace(0.0, model.config.T, 41)
    per = max(3, 40 // k)
    return np.concatenate([np.linspace(bounds[i], bounds[i + 1], per + 2)[1:-1] for i in range(k)])


def _relative_spread(h: np.ndarray) -> float:
    """max over points of peak-to-peak(H) / mean|H| for H (K, N)."""
    return float(np.max(np.ptp(h, axis=0) / np.abs(h).mean(axis=0)))


def check_energy(model: ContinuousModel, x: np.ndarray, y: np.ndarray) -> Check:
    """H = a·F along each path: flat (autonomous), stepwise (piecewise) or drifting (time input)."""
    mode = model.config.time_mode
    mom = momentum(model, x, y, times=_check_times(model))
    if mode == "piecewise":
        k = model.config.n_segments
        per_segment = np.split(mom.H, k)  # k arrays (per, N), each strictly inside its segment
        spread = max(_relative_spread(h) for h in per_segment)
        levels = np.stack([h.mean(axis=0) for h in per_segment])  # (k, N)
        jump = np.max(np.abs(np.diff(levels, axis=0)) / np.abs(levels).mean(axis=0))
        return _compare(
            "H = a·F constant within each weight segment (peak-to-peak / mean |H|)",
            spread,
            0.0,
            spread,
            1e-6,
            "Energy is conserved while the weights stay fixed; it jumps only where they change.",
            note=f"largest jump at a segment boundary: {jump:.3g} of mean |H| (H is stepwise)",
        )
    spread = _relative_spread(mom.H)
    if mode == "time":
        return Check(
            "H = a·F drifts: the field depends on t (peak-to-peak / mean |H|)",
            spread,
            0.0,
            spread,
            1e-6,
            True,
            "With weights that depend on depth energy is not conserved: dH/dt = ∂H/∂t.",
            status="expected drift",
            note=f"H changes by up to {spread:.3g} of its mean size along a path",
        )
    return _compare(
        "H = a·F conserved along each path (peak-to-peak / mean |H|)",
        spread,
        0.0,
        spread,
        1e-6,
        "Back-propagation conserves the energy H = a·F when the weights do not depend on depth.",
    )


def check_depth(model: ContinuousModel, x: np.ndarray, y: np.ndarray) -> Check:
    """dL/dT by finite differences vs H(T) (mean over segments of H for piecewise weights)."""
    h_final, fd = depth_sensitivity(model, x, y)
    proves = "H measures how fast the loss would change if the network were made a little deeper."
    if model.config.time_mode != "piecewise":
        error = abs(h_final - fd) / abs(fd)
        return _compare("H(T) = dL/dT (finite difference in T)", h_final, fd, error, 1e-4, proves)
    # Deepening a piecewise model stretches every segment by 1/K of the extra depth, and a
    # segment's length changes the loss at the rate of that segment's (constant) H.
    mom = momentum(model, x, y, times=_check_times(model))
    h_mean = float(np.mean([h.mean() for h in np.split(mom.H, model.config.n_segments)]))
    return _compare(
        "mean over segments of H = dL/dT (finite difference in T)",
        h_mean,
        fd,
        abs(h_mean - fd) / abs(fd),
        1e-4,
        proves,
        note=f"H(T) alone is {h_final:.6g}: deepening stretches every segment, not just the last",
    )


def check_liouville(model: ContinuousModel, x: np.ndarray, y: np.ndarray) -> Check:
    """det of the (x, a) flow Jacobian vs 1; the x-only log-volume change is shown for contrast."""
    det = joint_flow_determinant(model, x, y)
    log_x = np.log(np.abs(x_flow_determinant(model, x)))
    worst = int(np.argmax(np.abs(det - 1)))
    return _compare(
        "det d(x, a)(T) / d(x, a)(0) = 1 (Liouville), max |det - 1|",
        det[worst],
        1.0,
        abs(det[worst] - 1),
        1e-6,
        "The forward-backward flow on (x, a) keeps phase-space volume; x alone does not.",
        note=(
            f"x alone: log|det dx(T)/dx(0)| from {log_x.min():.3g} to {log_x.max():.3g} "
            "(not 0: the flow squeezes or stretches the input space)"
        ),
    )


def check_parameter_gradients(model: ContinuousModel, x: np.ndarray, y: np.ndarray) -> Check:
    """∫ a ∂F/∂θ dt vs autograd; max over parameter tensors of the relative error (norms)."""
    adjoint = adjoint_parameter_gradients(model, x, y)
    auto = autograd_parameter_gradients(model, x, y)
    error = max(np.linalg.norm(adjoint[k] - auto[k]) / np.linalg.norm(auto[k]) for k in auto)
    total = np.sqrt(sum(np.sum(g**2) for g in adjoint.values()))
    return _compare(
        "∫ a ∂F/∂θ dt = autograd weight gradients",
        total,
        np.sqrt(sum(np.sum(g**2) for g in auto.values())),
        error,
        1e-6,
        "The adjoint method gives the same weight gradients as backprop through the solver.",
    )


CHECKS: tuple[Callable[[ContinuousModel, np.ndarray, np.ndarray], Check], ...] = (
    check_adjoint,
    check_energy,
    check_depth,
    check_liouville,
    check_parameter_gradients,
)


def check_points(data: Dataset, n_points: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """The first n_points training points taking classes in turn (``balanced_sample``):
    x (n, 2), y (n,)."""
    index = balanced_sample(data.y_train, n_points)
    return data.x_train[index], data.y_train[index]


def tight_copy(model: DeqModel) -> ContinuousModel:
    """A float64 copy solved with dopri5 at 1e-10; discrete models are read as their ODE first."""
    if not isinstance(model, ContinuousModel):
        model = continuize(model)
    return rebuild_model(model, dtype=torch.float64, **TIGHT_SOLVER)


def run_checks(model: DeqModel, data: Dataset, n_points: int = 8) -> list[Check]:
    """The five checks of paper notes §7 on ``n_points`` training points (``check_points``).

    Runs on ``tight_copy(model)``; ``model`` is not touched. Discrete networks are checked on
    the ODE they discretize (``deqnet.maps.continuize``), which the row names say. A solver
    failure turns its row into a failed check that says why.
    """
    x, y = check_points(data, n_points)
    tight = tight_copy(model)
    suffix = "" if isinstance(model, ContinuousModel) else " [on the ODE read from the network]"
    rows = []
    for check in CHECKS:
        try:
            row = check(tight, x, y)
        except SolverFailure as err:
            title = (check.__doc__ or check.__name__).splitlines()[0]
            proves = "The solver could not finish this model, so the identity could not be tested."
            note = f"not tested: {explain_solver_failure(err)}"
            row = Check(title, np.nan, np.nan, np.nan, np.nan, False, proves, "fail", note)
        rows.append(replace(row, name=row.name + suffix))
    return rows
