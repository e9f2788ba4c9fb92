"""M models of one family evaluated as one computation: stacked weights, states (M, D, N).

This is the only implementation of every family's flow. A lone model is a stack of one
(``DeqModel.forward``); a training step of one or many models stacks them (``deqnet.engine``).
Each family writes its maths once, for M models (``stack_weights``, then ``stack_field`` or
``stack_layer``); every
batched operation treats the M slices separately, so a model's numbers do not depend on which
other models share the stack as long as shapes are equal (``deqnet.engine.stack_key``).

Continuous families always integrate in s = t / T over [0, 1]: dx/ds = T F(x, s T), with T
folded into the weights once per solve. A fixed-step solver takes the same steps as in t
(h = T / n), and models of different depths share one solve at no extra cost per evaluation.

Models of different widths or numbers of layers can share a stack too: weights are padded with
zeros to the widest model, and masks keep the padding out of the maths (a padded hidden unit's
output weight is multiplied by 0; a model past its last layer keeps its state). Padded weights
then get gradients of exactly 0 and stay 0 under Adam; the model's values equal its unpadded
values to float rounding (sums over more, zero, terms may round differently).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import nn
from torchdiffeq import odeint, odeint_adjoint

from deqnet.models.solver import SolverFailure, solver_kwargs

if TYPE_CHECKING:
    from deqnet.models.base import DeqModel


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


class Stack:
    """The weights of M models of one family, stacked, and their flow.

    Attributes:
        models: the M models (their parameters are the ones trained).
        config: model 0's config; the facts that shape the maths (dim, time mode, segments,
            activation, solver) are the same for every model of a stack.
        kind: the model class, whose ``stack_weights`` and ``stack_field``/``stack_layer`` are
            the maths.
        tensors: parameter name -> (M, *shape), zero-padded to the largest model's shape.
            Fresh leaves for a training step (``leaves=True``; their gradients are the models'
            gradients), else tensors still connected to the models' parameters.
        T, neg_gamma, dt: per-model depth, -gamma and layer step (discrete), each (M, 1, 1).
        layers: each model's number of layers (discrete).
        hidden_mask: (M, 1, H), 1 for the hidden units a model has, or None (equal widths).
        nfe: layer / field evaluations since the last reset.
    """

    def __init__(
        self,
        models: Sequence[DeqModel],
        params: Sequence[Sequence[nn.Parameter]] | None = None,
        *,
        leaves: bool = True,
    ) -> None:
        self.models = list(models)
        first = self.models[0]
        self.config = first.config
        self.kind = type(first)
        self.dtype = first.dtype
        self.names = [name for name, _ in first.named_parameters()]
        self.flow_names = [n for n in self.names if not n.startswith("readout.")]
        # A Trainer's ``params``, when given, save walking every module tree on every step.
        own = [list(p) for p in (params or [m.parameters() for m in self.models])]
        self.shapes = {name: [tuple(p[j].shape) for p in own] for j, name in enumerate(self.names)}
        self.padded = any(len(set(shapes)) > 1 for shapes in self.shapes.values())
        if leaves:
            own = [[p.detach() for p in model] for model in own]
        self.tensors = {
            name: self.pad_stack(name, [p[j] for p in own]) for j, name in enumerate(self.names)
        }
        if leaves:
            for tensor in self.tensors.values():
                tensor.requires_grad_()
        configs = [m.config for m in self.models]
        self.depths = tuple(c.T for c in configs)
        self.T = self._column([c.T for c in configs])
        self.neg_gamma = self._column([-c.gamma for c in configs])
        self.layers = tuple(c.layers for c in configs)
        self.dts = [c.T / c.layers for c in configs]  # Python floats, rounded once, as alone
        self.dt = self._column(self.dts)
        widths = [c.width for c in configs]
        self.hidden_mask = None
        if len(set(widths)) > 1:
            units = torch.arange(max(widths)).view(1, 1, -1)
            self.hidden_mask = (units < torch.tensor(widths).view(-1, 1, 1)).to(self.dtype)
        self.nfe = 0

    @property
    def size(self) -> int:
        return len(self.models)

    def _column(self, values: list[float]) -> torch.Tensor:
        return torch.tensor(values, dtype=self.dtype).view(-1, 1, 1)

    def pad_stack(self, name: str, tensors: Sequence[torch.Tensor]) -> torch.Tensor:
        """The models' tensors of parameter ``name`` (or its gradient or Adam moment) as one
        (M, *shape), zero-padded to the largest shape."""
        if not self.padded or len(set(self.shapes[name])) == 1:
            if len(tensors) == 1:
                return tensors[0].unsqueeze(0)  # a view: the lone model's own weights
            return torch.stack(list(tensors))
        shape = tuple(max(sizes) for sizes in zip(*self.shapes[name], strict=True))
        out = tensors[0].new_zeros((len(tensors), *shape))
        for m, tensor in enumerate(tensors):
            out[m][tuple(slice(0, s) for s in tensor.shape)] = tensor
        return out

    def own(self, name: str, stacked: torch.Tensor, m: int) -> torch.Tensor:
        """Model m's part of a stacked (M, *padded shape) tensor of parameter ``name`` (a view)."""
        if not self.padded:
            return stacked[m]
        return stacked[m][tuple(slice(0, s) for s in self.shapes[name][m])]

    def logits(self, x: torch.Tensor, *, adjoint: bool = False) -> torch.Tensor:
        """Logits (M, N, C) for inputs (M, N, 2): readout(flow(lift(x))) of each model."""
        x_end = self.flow(self.lift(x), adjoint=adjoint)
        weight, bias = self.tensors["readout.weight"], self.tensors["readout.bias"]
        if weight.shape[1] == 1:
            # One output (regression): the product is a row times a matrix, and its gradients'
            # bmm have size-1 dimensions whose ambiguous strides let BLAS take another kernel
            # for a stack of one (as an MLP of width 1, ``blocks.apply_mlp``): elementwise
            # products and a sum over D instead, the same ops for every stack size.
            out = (weight.transpose(1, 2) * x_end).sum(dim=1, keepdim=True) + bias.unsqueeze(2)
        else:
            out = torch.baddbmm(bias.unsqueeze(2), weight, x_end)
        return out[:, :, : x.shape[1]].transpose(1, 2)

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

    def flow(self, x0: torch.Tensor, *, adjoint: bool = False) -> torch.Tensor:
        """x(T) (M, D, N) from x(0) (M, D, N)."""
        if self.config.continuous:
            return self._solve(x0, adjoint=adjoint)
        return self._layers(x0)

    def bind(self, k: Any, *, scale: torch.Tensor | None = None) -> Any:
        """Weight set k (an int, or a LongTensor (M,) of each model's set) of every model, laid
        out for the family's maths; ``scale``: T for a solve in s (continuous families)."""
        if self.config.continuous:
            return self.kind.stack_weights(self, k, scale)
        return self.kind.stack_weights(self, k, None)

    def _solve(self, x0: torch.Tensor, *, adjoint: bool) -> torch.Tensor:
        """One torchdiffeq call per weight segment for all M models, in s = t / T over [0, 1];
        SolverFailure when torchdiffeq gives up."""
        k_total = self.config.n_segments
        bounds = torch.linspace(0.0, 1.0, k_total + 1, dtype=torch.float64)
        flow_params = tuple(self.tensors[n] for n in self.flow_names)
        x = x0
        for k in range(k_total):
            grid = bounds[k : k + 2].to(x0.dtype)
            func = _ScaledField(self, self.bind(k, scale=self.T))
            kwargs = solver_kwargs(self.config, norm=per_model_rms_norm(self.size))
            try:
                if adjoint:
                    sol = odeint_adjoint(func, x, grid, adjoint_params=flow_params, **kwargs)
                else:
                    sol = odeint(func, x, grid, **kwargs)
            except AssertionError as err:  # torchdiffeq signals failure with assert
                raise SolverFailure(str(err)) from err
            x = sol[-1]
        return x

    def _layers(self, x: torch.Tensor) -> torch.Tensor:
        """The layers of every model; dt_m = T_m / L_m, layer l at time t_l = l dt_m. A model
        with fewer layers than the stack's deepest keeps its state after its last layer."""
        deepest = max(self.layers)
        timed = self.config.time_mode == "time"
        # active[l, m]: model m still has layer l (all True unless the stack pads layers).
        active = None
        if len(set(self.layers)) > 1:
            depths = torch.tensor(self.layers).view(1, -1, 1, 1)
            active = torch.arange(deepest).view(-1, 1, 1, 1) < depths
        bound: dict[Any, Any] = {}
        for layer in range(deepest):
            self.nfe += 1
            key = self._weight_sets(layer)
            if key not in bound:
                bound[key] = self.bind(key if isinstance(key, int) else torch.tensor(key))
            t = self._column([layer * d for d in self.dts]) if timed else None
            stepped = self.kind.stack_layer(bound[key], x, self.dt, t)
            x = stepped if active is None else torch.where(active[layer], stepped, x)
        return x

    def _weight_sets(self, layer: int) -> int | tuple[int, ...]:
        """The weight set layer l uses: one for all models (an int), or each model's own (a
        tuple, when padded piecewise nets of different depths spread their sets differently)."""
        if self.config.n_segments == 1:
            return 0
        sets = [m.segment_of_layer(min(layer, m.layers - 1)) for m in self.models]
        return sets[0] if len(set(sets)) == 1 else tuple(sets)


class _ScaledField(nn.Module):
    """torchdiffeq's func on one weight segment: dx/ds = T F(x, s T), T folded in ``weights``;
    counts evaluations on the stack."""

    def __init__(self, stack: Stack, weights: Any) -> None:
        super().__init__()
        self.stack = stack
        self.weights = weights

    def forward(self, s: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        self.stack.nfe += 1
        return self.stack.kind.stack_field(self.weights, s, x)
