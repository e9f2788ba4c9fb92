"""Exact parameter maps between depth and time: ``discretize`` and its inverse ``continuize``.

Layer l of an L-layer network sits at time t_l = l * dt, dt = T / L (paper-notes §5).

- node <-> resnet: the ResNet block *is* the field, x_{l+1} = x_l + dt F(x_l, t_l), so the
  parameters are copied unchanged (autonomous <-> tied, "time" <-> "time", K pieces <-> K pieces).
- ruseckas <-> feedforward: (P3) equals the plain layer x_{l+1} = h(W_l x_l + B_l) (P4) with
  W = I + dt w, B = dt b and h(y) = y + dt g(y); the inverse reads w = (W - I) / dt, b = B / dt.

The maps never retrain and never touch the source model. The readout is copied, the dtype and T are
kept, and the weight set of layer l is the segment that holds t_l, so a piecewise model with K
segments becomes a network with K weight sets spread over its layers (this needs L >= K).
"""

from __future__ import annotations

import operator

import torch

from deqnet.config import ConfigError, ModelConfig
from deqnet.models import ContinuousModel, DeqModel, DiscreteModel, build_model

# Which family each map produces; the two dictionaries are inverse to each other.
DISCRETE_OF = {"node": "resnet", "ruseckas": "feedforward"}
CONTINUOUS_OF = {discrete: continuous for continuous, discrete in DISCRETE_OF.items()}


def _as_int(name: str, value: object) -> int:
    try:
        return operator.index(value)  # accepts numpy integers, rejects floats and bools alike
    except TypeError:
        raise ConfigError(f"{name} must be an integer, got {value!r}") from None


def _rebuild(model: DeqModel, config: ModelConfig, state: dict[str, torch.Tensor]) -> DeqModel:
    """A model of ``config`` in ``model``'s dtype holding ``state`` (a full state dict)."""
    target = build_model(config, model.n_classes).to(dtype=model.dtype)
    target.load_state_dict(state)
    return target


def discretize(model: ContinuousModel, layers: int) -> DiscreteModel:
    """The L-layer network of a continuous model: node -> resnet (Euler), ruseckas -> feedforward.

    Args:
        model: a "node" or "ruseckas" model (any time mode, any dtype); it is not modified.
        layers: L, the number of layers (dt = T / L). Piecewise models need L >= segments.

    Returns:
        A new DiscreteModel with the same T, readout and dtype. For node -> resnet, when
        ``segments`` divides L (always, if not piecewise), its layer states are exactly the
        states of ``model`` solved with solver="euler", steps=L.

    Raises:
        ConfigError: the model is not continuous, or ``layers`` is invalid.
    """
    family = model.config.family
    if family not in DISCRETE_OF:
        raise ConfigError(
            f"discretize needs a continuous model ({', '.join(DISCRETE_OF)}); got family "
            f"{family!r}, use continuize to turn a {family} into an ODE"
        )
    config = model.config.replace(family=DISCRETE_OF[family], layers=_as_int("layers", layers))
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if family == "ruseckas":
        dt = config.dt
        eye = torch.eye(config.dim, dtype=model.dtype)
        state["linear.w"] = eye + dt * state["linear.w"]
        state["linear.b"] = dt * state["linear.b"]
    return _rebuild(model, config, state)


def continuize(
    model: DiscreteModel, solver: str = "euler", steps: int | None = None
) -> ContinuousModel:
    """The ODE a discrete network discretizes: resnet -> node, feedforward -> ruseckas.

    Exact inverse of ``discretize``: resnet blocks are copied as the field; a feed-forward net
    gives w = (W - I) / dt and b = B / dt (exact up to the rounding of W - I).

    Args:
        model: a "resnet" or "feedforward" model; it is not modified.
        solver: solver of the returned model ("euler", "midpoint", "rk4" or "dopri5").
        steps: fixed-step count of the returned model; default L, so that with "euler" the
            ODE is solved on exactly the network's time grid.

    Returns:
        A new ContinuousModel with the same T, readout and dtype, and K segments for K
        weight sets.

    Raises:
        ConfigError: the model is not discrete, or the solver or steps are invalid.
    """
    family = model.config.family
    if family not in CONTINUOUS_OF:
        raise ConfigError(
            f"continuize needs a discrete model ({', '.join(CONTINUOUS_OF)}); got family "
            f"{family!r}, use discretize to turn a {family} into a network"
        )
    n_steps = model.config.layers if steps is None else _as_int("steps", steps)
    config = model.config.replace(family=CONTINUOUS_OF[family], solver=solver, steps=n_steps)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if family == "feedforward":
        dt = model.dt
        eye = torch.eye(config.dim, dtype=model.dtype)
        state["linear.w"] = (state["linear.w"] - eye) / dt
        state["linear.b"] = state["linear.b"] / dt
    return _rebuild(model, config, state)
