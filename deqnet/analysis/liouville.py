"""Liouville's theorem (paper notes §3.3–3.4): the (x, a) flow keeps phase volume, x alone does not.

Both determinants are of Jacobians taken by autograd through the solver, so they describe the map
the solver actually computes; a tight float64 solve makes that map the exact flow to ~1e-10.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from deqnet.analysis.adjoint import (
    autograd_input_gradient,
    hamiltonian_solve,
    require_continuous,
)
from deqnet.analysis.paths import check_time, lift_inputs, restore_nfe, to_numpy
from deqnet.models.base import ContinuousModel, DeqModel


def batched_jacobian(fn: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor) -> torch.Tensor:
    """Jacobians (N, M, M) of a pointwise map fn: (N, M) -> (N, M); J[n, i, j] = d fn_i / d z_j.

    Points are independent, so the M rows are the vector-Jacobian products with the M unit
    vectors, done as one vmapped backward pass (``is_grads_batched``): several times faster
    than M passes through the long graph of a solve. Only z is differentiated.
    """
    with torch.enable_grad():
        z = z.detach().requires_grad_(True)
        out = fn(z)
        m = out.shape[1]
        units = torch.eye(m, dtype=out.dtype)[:, None, :].expand(m, *out.shape)
        rows = torch.autograd.grad(out, z, units, is_grads_batched=True)[0]  # (M, N, M)
    return rows.transpose(0, 1)


def joint_flow_determinant(
    model: ContinuousModel,
    x: np.ndarray | torch.Tensor,
    y: np.ndarray | torch.Tensor,
    t: float | None = None,
    loss: str = "cross_entropy",
) -> np.ndarray:
    """det of d(x(t), a(t)) / d(x(0), a(0)) (N,), the Jacobian of Hamilton's flow (M8).

    Starts from each input's own phase point: x(0) = lift(x) (x (N, 2)) and a(0) = dℓ/dx(0) for
    labels y (N,), then integrates dx/dt = F, da/dt = -a ∂F/∂x forwards to t (default T). The
    flow is symplectic, so the determinant is 1 for every model, time-dependent ones included.
    Continuous models only; raises SolverFailure if the solver gives up.
    """
    require_continuous(model, "joint_flow_determinant")
    end = model.config.T if t is None else check_time(model, t)
    d = model.config.dim
    start = torch.cat(
        [lift_inputs(model, x), torch.as_tensor(autograd_input_gradient(model, x, y, loss))], 1
    )

    def flow(z: torch.Tensor) -> torch.Tensor:
        state = (z[:, :d], z[:, d:])
        return torch.cat(
            hamiltonian_solve(model, state, sorted({0.0, end}), create_graph=True)[-1], 1
        )

    with restore_nfe(model):
        jac = batched_jacobian(flow, start)
    return to_numpy(model, torch.linalg.det(jac))


def x_flow_determinant(
    model: DeqModel, x: np.ndarray | torch.Tensor, t: float | None = None
) -> np.ndarray:
    """det dx(t)/dx(0) (N,) of inputs x (N, 2), t default T; not 1 in general.

    Discrete models: the map through the first round(t / dt) layers (all L at t = T).
    """
    end = model.config.T if t is None else check_time(model, t)
    if isinstance(model, ContinuousModel):
        times = torch.tensor([0.0, end], dtype=torch.float64)

        def flow(x0: torch.Tensor) -> torch.Tensor:
            return model.solve(x0, times)[-1]
    else:
        layers = min(round(end / model.dt), model.layers)

        def flow(x0: torch.Tensor) -> torch.Tensor:
            for layer in range(layers):
                x0 = model.step(layer, x0)
            return x0

    with restore_nfe(model):
        jac = batched_jacobian(flow, lift_inputs(model, x))
    return to_numpy(model, torch.linalg.det(jac))
