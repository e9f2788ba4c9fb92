"""M models of the same shapes evaluated as one computation: stacked weights, states (M, N, D).

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
    """Weight set k of every model, laid out once per solve for batched matmuls.

    A transposed copy per solve rather than a transposed view per evaluation: ``bmm`` on a
    non-contiguous transpose took over twice as long here (M = 30, width 16, one thread).

    Attributes:
        w_in: (M, D, H) for node (x part of W1, transposed) or (M, D, D) (W transposed).
        b_in: (M, 1, H) or (M, 1, D).
        w_t: (M, 1, H), the time column of W1 (node with time as an input), else None.
        w_out, b_out: (M, H, D) and (M, 1, D) of the MLP's output layer (node), else None.
    """

    w_in: torch.Tensor
    b_in: torch.Tensor
    w_t: torch.Tensor | None
    w_out: torch.Tensor | None
    b_out: torch.Tensor | None


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
        config: model 0's config; everything but T and gamma is the same for all models.
        names: parameter names, in ``named_parameters`` order.
        nfe: layer / field evaluations of the batched computation since the last reset.
    """

    def __init__(self, models: Sequence[DeqModel]) -> None:
        self.models = list(models)
        self.config = self.models[0].config
        self.names = [name for name, _ in self.models[0].named_parameters()]
        self.flow_names = [n for n in self.names if not n.startswith("readout.")]
        self.dtype = self.models[0].dtype
        self.nfe = 0

    def parameters_of(self, i: int) -> list[nn.Parameter]:
        """Model i's parameters in ``names`` order."""
        return list(self.models[i].parameters())

    def stack(self, active: Sequence[int]) -> StackedParams:
        """Fresh stacked leaves (M, ...) holding the current weights of models ``active``."""
        with torch.no_grad():
            per_model = [self.parameters_of(i) for i in active]
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
        x0 = self.lift(x)
        x_end = self.flow(x0, params, adjoint=adjoint)
        weight, bias = params.tensors["readout.weight"], params.tensors["readout.bias"]
        return torch.baddbmm(bias.unsqueeze(1), x_end, weight.transpose(1, 2))

    def lift(self, x: torch.Tensor) -> torch.Tensor:
        """Zero-pad inputs (M, N, 2) to states (M, N, D)."""
        x = torch.as_tensor(x, dtype=self.dtype)
        pad = x.new_zeros(*x.shape[:2], self.config.augment)
        return torch.cat([x, pad], dim=2)

    def flow(
        self, x0: torch.Tensor, params: StackedParams, *, adjoint: bool = False
    ) -> torch.Tensor:
        """x(T) (M, N, D) from x(0) (M, N, D)."""
        if self.config.continuous:
            return self._solve(x0, params, adjoint=adjoint)
        return self._layers(x0, params)

    def bind(self, params: StackedParams, segment: int) -> SegmentWeights:
        """Weight set ``segment`` of every model, transposed and contiguous (see SegmentWeights)."""
        p = params.tensors
        if self.models[0].uses_mlp:
            w1 = p["mlp.w1"][:, segment]
            d = self.config.dim
            w_t = w1[:, :, d].unsqueeze(1) if self.config.time_mode == "time" else None
            return SegmentWeights(
                w_in=w1[:, :, :d].transpose(1, 2).contiguous(),
                b_in=p["mlp.b1"][:, segment].unsqueeze(1),
                w_t=w_t,
                w_out=p["mlp.w2"][:, segment].transpose(1, 2).contiguous(),
                b_out=p["mlp.b2"][:, segment].unsqueeze(1),
            )
        w, b = p["linear.w"][:, segment], p["linear.b"][:, segment]
        return SegmentWeights(w.transpose(1, 2).contiguous(), b.unsqueeze(1), None, None, None)

    def field(
        self, params: StackedParams, weights: SegmentWeights, t: torch.Tensor, x: torch.Tensor
    ) -> torch.Tensor:
        """F_m(x, t) of every model for one weight set: (M, N, D); t is (M, 1, 1) or 0-d."""
        if self.config.family == "node":
            return self._mlp(weights, t, x)
        return torch.bmm(x, weights.w_in) + weights.b_in + self._g(params, x)

    def _g(self, params: StackedParams, x: torch.Tensor) -> torch.Tensor:
        """g(x) = -gamma x^3 or -gamma sin(x), each model with its own gamma."""
        if self.config.nonlinearity == "cubic":
            return params.neg_gamma * x**3
        return params.neg_gamma * torch.sin(x)

    def _mlp(self, weights: SegmentWeights, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """StackedMLP set of every model: W2 act(W1 [x, t] + b1) + b2, (M, N, D) -> (M, N, D)."""
        pre = torch.bmm(x, weights.w_in) + weights.b_in
        if weights.w_t is not None:
            pre = pre + t * weights.w_t
        hidden = ACTIVATION_FUNCTIONS[self.config.activation](pre)
        return torch.bmm(hidden, weights.w_out) + weights.b_out

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
                t = torch.tensor([layer * d for d in dts], dtype=self.dtype).view(-1, 1, 1)
                x = x + dt * self._mlp(weights, t, x)
            else:
                y = torch.bmm(x, weights.w_in) + weights.b_in
                x = y + dt * self._g(params, y)
        return x
