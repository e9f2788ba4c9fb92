"""The shape every model shares: lift -> flow -> readout.

``DeqModel`` holds the lift (zero padding to D = 2 + augment) and the linear readout.
``ContinuousModel`` solves dx/dt = F(x, t) with torchdiffeq, one solve per weight segment, so
piecewise-constant weights never straddle a solver step. ``DiscreteModel`` applies L layers.

Each family writes its maths once, for M stacked models (``stack_weights`` and ``stack_field``
or ``stack_layer``, static methods on its class); a lone model runs it as a stack of one
(``deqnet.models.stack``), with (N, D) states turned to feature-major (1, D, N) and back.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

import torch
from torch import nn
from torchdiffeq import odeint, odeint_adjoint

from deqnet.config import ModelConfig
from deqnet.families import Family
from deqnet.models.solver import SolverFailure, solver_kwargs
from deqnet.models.stack import Stack

# F(t, x) of one weight segment: (t, (N, D)) -> (N, D).
Field = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

__all__ = ["ContinuousModel", "DeqModel", "DiscreteModel", "Field", "LayerStack", "SolverFailure"]


class DeqModel(nn.Module, ABC):
    """Common part of all families: x(0) = pad(input), logits = readout(flow(x(0))).

    Class attributes:
        family: the family's facts (``deqnet.families``).
        continuous: the flow is an ODE solve (else L discrete layers).

    Attributes:
        config: the ModelConfig the model was built from.
        n_classes: number C of outputs: the classes, or 1 for regression.
        readout: linear map (N, D) -> (N, C).
        nfe: evaluations of the layer function or vector field since the last reset.
    """

    family: ClassVar[Family]
    continuous: ClassVar[bool]

    def __init__(self, config: ModelConfig, n_classes: int, generator: torch.Generator) -> None:
        super().__init__()
        self.config = config
        self.n_classes = n_classes
        self.readout = nn.Linear(config.dim, n_classes)
        bound = 1.0 / math.sqrt(config.dim)
        with torch.no_grad():
            self.readout.weight.uniform_(-bound, bound, generator=generator)
            self.readout.bias.uniform_(-bound, bound, generator=generator)
        self.nfe = 0

    @property
    def dtype(self) -> torch.dtype:
        return self.readout.weight.dtype

    @staticmethod
    @abstractmethod
    def stack_weights(stack: Stack, k: Any, scale: torch.Tensor | None) -> Any:
        """Weight set k of a stack's models, laid out for ``stack_field`` or ``stack_layer``."""

    def alone(self) -> Stack:
        """This model as a stack of one, connected to its parameters (autograd reaches them)."""
        return Stack([self], leaves=False)

    def lift(self, x: torch.Tensor) -> torch.Tensor:
        """Zero-pad inputs (N, 2) to states (N, D) in the model's dtype."""
        x = torch.as_tensor(x, dtype=self.dtype)
        pad = x.new_zeros(x.shape[0], self.config.augment)
        return torch.cat([x, pad], dim=1)

    def flow(self, x0: torch.Tensor, *, adjoint: bool = False) -> torch.Tensor:
        """Map x(0) (N, D) to x(T) (N, D)."""
        stack = self.alone()
        try:
            return stack.flow(x0.T.unsqueeze(0), adjoint=adjoint)[0].T
        finally:
            self.nfe += stack.nfe

    def flow_parameters(self) -> list[nn.Parameter]:
        """Parameters of the flow (everything except the readout)."""
        return [p for name, p in self.named_parameters() if not name.startswith("readout.")]

    def forward(self, x: torch.Tensor, *, adjoint: bool = False) -> torch.Tensor:
        """Logits (N, C) for inputs (N, 2)."""
        stack = self.alone()
        try:
            return stack.logits(torch.as_tensor(x).unsqueeze(0), adjoint=adjoint)[0]
        finally:
            self.nfe += stack.nfe

    def segment_at(self, t: float) -> int:
        """Index of the weight segment in use at depth t, 0 <= t <= T.

        Continuous: the segment that holds t (t = T belongs to the last one). Discrete: the
        weight set of the layer that steps from t = l·Δt (t is rounded to the nearest layer
        time; the final state x_L takes the last layer's).
        """
        # Each family keeps its own rule (segment_of, segment_of_layer); this only picks it.
        if isinstance(self, DiscreteModel):
            return self.segment_of_layer(min(round(float(t) / self.dt), self.layers - 1))
        if isinstance(self, ContinuousModel):
            return self.segment_of(t)
        raise TypeError(f"{type(self).__name__} is neither continuous nor discrete")


def _rows(stacked: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """A stack-of-one function of (1, D, N) states applied to (N, D) states."""
    return stacked(x.T.unsqueeze(0))[0].T


class _SegmentField(nn.Module):
    """torchdiffeq's ``func`` for one weight segment in s = t / T: T F(x, s T); counts
    evaluations on the model.

    With ``bind`` the segment's weights are bound once (fast path for back-propagation).
    odeint_adjoint runs its forward pass without a graph and differentiates ``func`` itself, so
    there the weights must be bound inside every call to stay connected to the parameters.
    """

    def __init__(self, model: ContinuousModel, segment: int, *, bind: bool) -> None:
        super().__init__()
        self.model = model
        self.segment = segment
        self.bound = model.segment_function(segment, rescaled=True) if bind else None

    def forward(self, s: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        self.model.nfe += 1
        if self.bound is not None:
            return self.bound(s, x)
        return self.model.segment_function(self.segment, rescaled=True)(s, x)


class ContinuousModel(DeqModel):
    """A model whose flow is the ODE dx/dt = F(x, t) on [0, T], solved with torchdiffeq.

    A family defines ``stack_weights(stack, k, scale)`` and ``stack_field(weights, t, x)``: F of
    M models on (M, D, N) states, ``scale`` (M, 1, 1) folding a factor into the weights (T,
    for a solve in s = t / T).
    """

    continuous = True

    @staticmethod
    @abstractmethod
    def stack_field(weights: Any, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """F of every model of a stack for one bound weight set: (M, D, N) -> (M, D, N)."""

    def segment_function(self, segment: int, *, rescaled: bool = False) -> Field:
        """F(·, ·) of weight set ``segment`` as a function (t, x (N, D)) -> (N, D); with
        ``rescaled``, the field in s = t / T instead: (s, x) -> T F(x, s T)."""
        alone = self.alone()
        weights = self.stack_weights(alone, segment, alone.T if rescaled else None)
        kind = type(self)
        return lambda t, x: _rows(lambda states: kind.stack_field(weights, t, states), x)

    def segment_field(self, segment: int, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """F(x, t) (N, D) using weight set ``segment``."""
        return self.segment_function(segment)(t, x)

    def segment_of(self, t: float) -> int:
        """Index of the weight segment that holds time t; t = T belongs to the last one."""
        k = self.config.n_segments
        return min(int(math.floor(float(t) / self.config.T * k)), k - 1) if k > 1 else 0

    def field(self, t: float | torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """F(x, t): (N, D) -> (N, D); t a float or 0-d tensor."""
        t_tensor = torch.as_tensor(t, dtype=x.dtype)
        return self.segment_field(self.segment_of(float(t_tensor)), t_tensor, x)

    def segment_bounds(self) -> torch.Tensor:
        """Segment boundaries (K + 1,) from 0 to T, in float64."""
        return torch.linspace(0.0, self.config.T, self.config.n_segments + 1, dtype=torch.float64)

    def solver_kwargs(self) -> dict:
        """Keyword arguments of ``odeint`` for one weight segment (``models.solver``)."""
        return solver_kwargs(self.config)

    def solve(
        self, x0: torch.Tensor, times: torch.Tensor, *, adjoint: bool = False
    ) -> torch.Tensor:
        """States at ``times`` (K,) ascending in [0, T]: returns (K, N, D).

        Integrates segment by segment from t = 0, in s = t / T like every flow of this model
        (``Stack``), so the states at T are the ones its logits are computed from. Raises
        SolverFailure if torchdiffeq gives up.
        """
        k_total = self.config.n_segments
        bounds = torch.linspace(0.0, 1.0, k_total + 1, dtype=torch.float64)
        s_times = torch.as_tensor(times, dtype=torch.float64) / self.config.T
        # A time on a segment bound (t = k T / K) divides to within rounding of k / K: snap it.
        nearest = torch.argmin((s_times[:, None] - bounds[None, :]).abs(), dim=1)
        on_bound = (s_times - bounds[nearest]).abs() < 1e-12
        s_times = torch.where(on_bound, bounds[nearest], s_times)
        at_bound = [x0]
        inside: dict[int, torch.Tensor] = {}
        for k in range(k_total):
            lo, hi = float(bounds[k]), float(bounds[k + 1])
            mask = (s_times > lo) & (s_times < hi)
            grid = torch.cat([bounds[k : k + 1], s_times[mask], bounds[k + 1 : k + 2]])
            kwargs = self.solver_kwargs()
            func = _SegmentField(self, k, bind=not adjoint)
            try:
                if adjoint:
                    sol = odeint_adjoint(
                        func,
                        at_bound[-1],
                        grid.to(x0.dtype),
                        adjoint_params=tuple(self.flow_parameters()),
                        **kwargs,
                    )
                else:
                    sol = odeint(func, at_bound[-1], grid.to(x0.dtype), **kwargs)
            except AssertionError as err:  # torchdiffeq signals failure with assert
                raise SolverFailure(str(err)) from err
            for i, j in enumerate(torch.nonzero(mask).flatten().tolist()):
                inside[j] = sol[1 + i]
            at_bound.append(sol[-1])
        out = []
        for j in range(len(s_times)):
            out.append(inside[j] if j in inside else at_bound[int(nearest[j])])
        return torch.stack(out)

    def solver_grid(self) -> torch.Tensor:
        """Times (K,) a fixed-step solver steps through (adaptive: the segment bounds)."""
        if self.config.adaptive:
            return self.segment_bounds()
        n = self.config.steps_per_segment
        bounds = self.segment_bounds()
        pieces = [
            torch.linspace(float(bounds[k]), float(bounds[k + 1]), n + 1, dtype=torch.float64)[:-1]
            for k in range(self.config.n_segments)
        ]
        return torch.cat([*pieces, bounds[-1:]])


class LayerStack:
    """Mixin for a net of L = ``config.layers`` layers a step dt = ``config.dt`` apart, with
    ``config.n_segments`` weight sets and a ``step(layer, x)``; shared by the 2-D networks and
    the digits conv net (states (N, ...) of any shape)."""

    @property
    def layers(self) -> int:
        return self.config.layers

    @property
    def dt(self) -> float:
        """The layer step T / L (the config's ``dt``)."""
        return self.config.dt

    def segment_of_layer(self, layer: int) -> int:
        """Weight set used by layer l (K sets spread evenly over the L layers)."""
        return min(layer * self.config.n_segments // self.config.layers, self.config.n_segments - 1)

    def layer_states(self, x0: torch.Tensor) -> torch.Tensor:
        """All states x_0 ... x_L: (L + 1, N, ...) from x_0 (N, ...)."""
        states = [x0]
        for layer in range(self.layers):
            states.append(self.step(layer, states[-1]))
        return torch.stack(states)


class DiscreteModel(LayerStack, DeqModel):
    """A network of L layers, layer l <-> time t_l = l * dt with dt = T / L.

    A family defines ``stack_weights(stack, k, None)`` and ``stack_layer(weights, x, dt, t)``:
    x_{l+1} of M models from (M, D, N) states, with dt and t_l = l dt each (M, 1, 1) (t None
    unless the time mode is "time"). A discrete network's backprop *is* its discrete adjoint,
    so ``adjoint`` changes nothing.
    """

    continuous = False

    @staticmethod
    @abstractmethod
    def stack_layer(
        weights: Any, x: torch.Tensor, dt: torch.Tensor, t: torch.Tensor | None
    ) -> torch.Tensor:
        """One layer of every model of a stack: (M, D, N) -> (M, D, N)."""

    def step(self, layer: int, x: torch.Tensor) -> torch.Tensor:
        """x_{l+1} (N, D) from x_l (N, D)."""
        self.nfe += 1
        stack = self.alone()
        weights = self.stack_weights(stack, self.segment_of_layer(layer), None)
        t = stack.T.new_full((1, 1, 1), layer * self.dt)
        return _rows(lambda states: type(self).stack_layer(weights, states, stack.dt, t), x)
