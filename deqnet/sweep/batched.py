"""M models of the same shapes evaluated as one computation: stacked weights, states (M, D, N).

Each model keeps its own parameters (its own leaf tensors, so it stays usable on its own and an
optimiser treats it exactly as if it trained alone). For one training step the weights are copied
into stacked leaves (M, ...) and every layer becomes one batched matmul over the M models. The
gradient with respect to a stacked leaf, sliced at m, is model m's own gradient: the models never
mix, except through a shared adaptive step controller (see ``per_model_rms_norm``).

Continuous families: all models share one torchdiffeq call per weight segment. Models with
different depths T are integrated over s in [0, 1] with dx/ds = T_m F_m(x, s T_m), the same ODE
reparametrised, so a fixed-step solver takes the same steps (in t: h_m = T_m / n) as each model
alone; with equal depths the group integrates in t directly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch
from torch import nn
from torchdiffeq import odeint, odeint_adjoint

from deqnet.models.base import DeqModel, SolverFailure
from deqnet.models.blocks import ACTIVATION_FUNCTIONS
from deqnet.models.solver import solver_kwargs


class StackedParams(NamedTuple):
    """The weights of M models for one step.

    Attributes:
        tensors: parameter name -> leaf tensor (M, *shape) (slice m = model m's parameter).
        depths: each model's T as the Python float of its config (exact, for dt = T / L).
        T: depth of each model, (M, 1, 1).
        neg_gamma: -gamma of each model, (M, 1, 1) (ruseckas, feedforward).
    """

    tensors: dict[str, torch.Tensor]
    depths: tuple[float, ...]
    T: torch.Tensor
    neg_gamma: torch.Tensor

    @property
    def size(self) -> int:
        return self.T.shape[0]

    def subset(self, rows: torch.Tensor) -> StackedParams:
        """The same weights for models ``rows`` only (for evaluation without gradients)."""
        return StackedParams(
            {k: v.detach()[rows] for k, v in self.tensors.items()},
            tuple(self.depths[i] for i in rows.tolist()),
            self.T[rows],
            self.neg_gamma[rows],
        )


def per_model_rms_norm(m: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """Error norm for a shared adaptive solve: the largest of the M models' own RMS norms.

    torchdiffeq's default RMS norm would average the error over all models, so an easy model could
    hide a hard one's error. With the maximum a step is accepted only if every model's own error
    test (the test it would apply alone) passes: each model meets its rtol/atol, at the price of
    sharing the steps of the hardest model.
    """

    def norm(tensor: torch.Tensor) -> torch.Tensor:
        return tensor.abs().pow(2).reshape(m, -1).mean(dim=1).sqrt().max()

    return norm


class SegmentWeights(NamedTuple):
    """Weight set k of every model, as the batched matmuls of a feature-major state use it.

    States are (M, D, N): features along rows, points along columns, so every matmul has the N
    points as its long, contiguous dimension. Row-major (M, N, D) states made the products with
    D = 2 columns (the MLP's output layer and its backward) about five times slower (M = 16,
    N = 512, width 16, one thread: bench (c) and ``bench/sweep_speedup.py``'s note).

    A tanh MLP is evaluated as a sigmoid MLP with the same function, since tanh(z) = 2 sigmoid(2z)
    - 1: W2 tanh(W1 x + b1) + b2 = (2 W2) sigmoid(2 W1 x + 2 b1) + (b2 - W2 1). The factors go
    into the M H D weights once per solve instead of three passes over the M H N hidden values
    per evaluation; autograd differentiates through them, so the gradients are W1's and W2's.

    Attributes:
        w_in: (M, H, D) for an MLP (x part of W1, times 2 for tanh) or (M, D, D) (W), contiguous.
        b_in: (M, H, 1) or (M, D, 1).
        w_t: (M, H, 1), the time column of W1 (MLP with time as an input), else None.
        w_out, b_out: (M, D, H) and (M, D, 1) of the MLP's output layer, else None.
        activation: what the MLP applies to its hidden layer ("sigmoid" for a tanh MLP).
    """

    w_in: torch.Tensor
    b_in: torch.Tensor
    w_t: torch.Tensor | None
    w_out: torch.Tensor | None
    b_out: torch.Tensor | None
    activation: str | None


class _ScaledField(nn.Module):
    """torchdiffeq's func on segment k; counts evaluations.

    ``scaled``: dx/ds = T_m F_m(x, s T_m) over s in [0, 1] (models of different depths);
    otherwise dx/dt = F_m(x, t) over t in [0, T] (all depths equal), exactly as each model alone.
    """

    def __init__(self, ensemble: Ensemble, params: StackedParams, segment: int, scaled: bool):
        super().__init__()
        self.ensemble = ensemble
        self.params = params
        self.weights = ensemble.bind(params, segment)
        self.scaled = scaled

    def forward(self, s: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        self.ensemble.nfe += 1
        if not self.scaled:
            return self.ensemble.field(self.params, self.weights, s, x)
        t = s * self.params.T
        return self.params.T * self.ensemble.field(self.params, self.weights, t, x)


class Ensemble:
    """M models of one family and shape (T and gamma may differ), evaluated together.

    Attributes:
        models: the M standalone models (their parameters are the ones trained).
        params: each model's parameters, in ``names`` order.
        config: model 0's config; everything but T and gamma is the same for all models.
        names: parameter names, in ``named_parameters`` order.
        nfe: layer / field evaluations of the batched computation since the last reset.
    """

    def __init__(
        self, models: Sequence[DeqModel], params: Sequence[list[nn.Parameter]] | None = None
    ) -> None:
        self.models = list(models)
        # A Trainer's ``params``, when given, save walking every module tree on every step.
        self.params = list(params) if params is not None else [list(m.parameters()) for m in models]
        self.config = self.models[0].config
        self.names = [name for name, _ in self.models[0].named_parameters()]
        self.flow_names = [n for n in self.names if not n.startswith("readout.")]
        self.dtype = self.models[0].dtype
        self.nfe = 0

    def stack(self, active: Sequence[int]) -> StackedParams:
        """Fresh stacked leaves (M, ...) holding the current weights of models ``active``."""
        with torch.no_grad():
            per_model = [self.params[i] for i in active]
            tensors = {
                name: torch.stack([params[j] for params in per_model]).requires_grad_()
                for j, name in enumerate(self.names)
            }
        configs = [self.models[i].config for i in active]
        depths = tuple(c.T for c in configs)
        T = torch.tensor(depths, dtype=self.dtype).view(-1, 1, 1)
        neg_gamma = torch.tensor([-c.gamma for c in configs], dtype=self.dtype).view(-1, 1, 1)
        return StackedParams(tensors, depths, T, neg_gamma)

    def logits(
        self, x: torch.Tensor, params: StackedParams, *, adjoint: bool = False
    ) -> torch.Tensor:
        """Logits (M, N, C) for inputs (M, N, 2): readout(flow(lift(x))) of each model."""
        x_end = self.flow(self.lift(x), params, adjoint=adjoint)
        weight, bias = params.tensors["readout.weight"], params.tensors["readout.bias"]
        return torch.baddbmm(bias.unsqueeze(2), weight, x_end)[:, :, : x.shape[1]].transpose(1, 2)

    def lift(self, x: torch.Tensor) -> torch.Tensor:
        """Feature-major states (M, D, N') from inputs (M, N, 2): zeros in the augmented rows
        and, without an adaptive solver, in N' - N padding columns.

        The padding makes every model's row of N' points a whole number of 64-byte lines, so
        each model's slice of every product lies at the same alignment whatever its place in
        the stack; the BLAS kernels' edge handling depends on alignment, and without it a model
        got different float rounding in a stack of 8 than alone. Padded points never reach the
        loss, so their gradient is zero and adds nothing to the weights' gradients. An adaptive
        solver's error norm would see the padded points, so it gets none.
        """
        x = torch.as_tensor(x, dtype=self.dtype).transpose(1, 2)
        m, _, n = x.shape
        line = 64 // x.element_size()
        columns = n if self.config.adaptive else -(-n // line) * line
        states = x.new_zeros(m, self.config.dim, columns)
        states[:, :2, :n] = x
        return states

    def flow(
        self, x0: torch.Tensor, params: StackedParams, *, adjoint: bool = False
    ) -> torch.Tensor:
        """x(T) (M, D, N) from x(0) (M, D, N)."""
        if self.config.continuous:
            return self._solve(x0, params, adjoint=adjoint)
        return self._layers(x0, params)

    def bind(self, params: StackedParams, segment: int) -> SegmentWeights:
        """Weight set ``segment`` of every model, laid out for feature-major states."""
        p = params.tensors
        if self.models[0].uses_mlp:
            w1 = p["mlp.w1"][:, segment]
            b1 = p["mlp.b1"][:, segment].unsqueeze(2)
            w2 = p["mlp.w2"][:, segment]
            b2 = p["mlp.b2"][:, segment].unsqueeze(2)
            d = self.config.dim
            w_t = w1[:, :, d].unsqueeze(2) if self.config.time_mode == "time" else None
            w_in = w1[:, :, :d]
            activation = self.config.activation
            if activation == "tanh":
                w_in, b1, w_t = 2 * w_in, 2 * b1, None if w_t is None else 2 * w_t
                w2, b2 = 2 * w2, b2 - w2.sum(dim=2, keepdim=True)
                activation = "sigmoid"
            return SegmentWeights(w_in.contiguous(), b1, w_t, w2.contiguous(), b2, activation)
        w, b = p["linear.w"][:, segment], p["linear.b"][:, segment]
        return SegmentWeights(w.contiguous(), b.unsqueeze(2), None, None, None, None)

    def field(
        self, params: StackedParams, weights: SegmentWeights, t: torch.Tensor, x: torch.Tensor
    ) -> torch.Tensor:
        """F_m(x, t) of every model for one weight set: (M, D, N); t is (M, 1, 1) or 0-d."""
        if self.config.family == "node":
            return self._mlp(weights, t, x)
        return torch.baddbmm(weights.b_in, weights.w_in, x) + self._g(params, x)

    def _g(self, params: StackedParams, x: torch.Tensor) -> torch.Tensor:
        """g(x) = -gamma x^3 or -gamma sin(x), each model with its own gamma."""
        if self.config.nonlinearity == "cubic":
            return params.neg_gamma * x**3
        return params.neg_gamma * torch.sin(x)

    def _mlp(
        self, weights: SegmentWeights, t: torch.Tensor | None, x: torch.Tensor
    ) -> torch.Tensor:
        """StackedMLP set of every model: W2 act(W1 [x, t] + b1) + b2, (M, D, N) -> (M, D, N)."""
        pre = torch.baddbmm(weights.b_in, weights.w_in, x)
        if weights.w_t is not None:
            pre = pre + t * weights.w_t
        hidden = ACTIVATION_FUNCTIONS[weights.activation](pre)
        if hidden.shape[1] == 1:
            # Width 1: the product is an outer product, and its gradient's bmm has size-1
            # dimensions whose ambiguous strides let BLAS take another kernel for a stack of one.
            # Two exactly rounded ops, not a fused addcmul, whose kernels may or may not use FMA.
            return weights.w_out * hidden + weights.b_out
        return torch.baddbmm(weights.b_out, weights.w_out, hidden)

    def _solve(self, x0: torch.Tensor, params: StackedParams, *, adjoint: bool) -> torch.Tensor:
        """One torchdiffeq call per weight segment for all M models; SolverFailure on failure.

        Equal depths integrate in t like a lone model. Different depths need the rescaled time s:
        the same steps for fixed-step solvers, but torchdiffeq's first-step guess for adaptive
        ones is not invariant under the rescaling, so dopri5 steps then differ slightly anyway.
        """
        k_total = self.config.n_segments
        scaled = len(set(params.depths)) > 1
        end = 1.0 if scaled else params.depths[0]
        bounds = torch.linspace(0.0, end, k_total + 1, dtype=torch.float64)
        flow_params = tuple(params.tensors[n] for n in self.flow_names)
        x = x0
        for k in range(k_total):
            grid = bounds[k : k + 2].to(x0.dtype)
            func = _ScaledField(self, params, k, scaled)
            # A lone model's arguments; over s in [0, 1] a fixed-step grid takes the same n steps.
            kwargs = solver_kwargs(self.config, norm=per_model_rms_norm(params.size))
            try:
                if adjoint:
                    sol = odeint_adjoint(func, x, grid, adjoint_params=flow_params, **kwargs)
                else:
                    sol = odeint(func, x, grid, **kwargs)
            except AssertionError as err:  # torchdiffeq signals failure with assert
                raise SolverFailure(str(err)) from err
            x = sol[-1]
        return x

    def _layers(self, x: torch.Tensor, params: StackedParams) -> torch.Tensor:
        """L discrete layers of every model; dt_m = T_m / L, layer l at time t_l = l dt_m."""
        cfg = self.config
        layers = cfg.layers
        # dt and t_l from the configs' Python floats, rounded once, as each model alone does.
        dts = [depth / layers for depth in params.depths]
        dt = torch.tensor(dts, dtype=self.dtype).view(-1, 1, 1)
        bound: dict[int, SegmentWeights] = {}
        for layer in range(layers):
            self.nfe += 1
            k = self.models[0].segment_of_layer(layer)
            if k not in bound:
                bound[k] = self.bind(params, k)
            weights = bound[k]
            if cfg.family == "resnet":
                t = None
                if weights.w_t is not None:
                    t = torch.tensor([layer * d for d in dts], dtype=self.dtype).view(-1, 1, 1)
                x = x + dt * self._mlp(weights, t, x)
            else:
                y = torch.baddbmm(weights.b_in, weights.w_in, x)
                x = y + dt * self._g(params, y)
        return x
