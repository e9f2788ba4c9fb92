"""The last good training state: a model's weights and its optimiser's state, copied in place.

A trainer refreshes it before every update, so a step whose loss or gradients are not finite
can put the weights (and Adam's moments) back. Refreshing copies into the buffers of the last
refresh with one fused call, instead of rebuilding and deep-copying state dicts: in a class of
stacked sessions this runs once per session per step.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class LastGood:
    """A saved copy of a model's parameters ``params`` (``list(model.parameters())``) and
    ``optimizer``'s per-parameter tensor state.

    The list is taken once by the caller, not walked on every refresh: Module.parameters()
    recurses through the module tree, and a module keeps its Parameter objects through to() and
    load_state_dict(), which update them in place.
    """

    def __init__(self, params: Sequence[nn.Parameter], optimizer: torch.optim.Optimizer) -> None:
        self.params = list(params)
        self.optimizer = optimizer
        self._keys: list[tuple[int, str]] = []  # (parameter index, state name) of each state copy
        self._saved: list[torch.Tensor] = []  # the parameters, then the state tensors of _keys
        # What _live returned last, and the optimiser state dicts (and sizes) it was built from.
        self._states: list[dict | None] = []
        self._sizes: list[int] | None = None
        self._live_lists: tuple = ()
        self.take()

    def _live(self) -> tuple[list[nn.Parameter], list[tuple[int, str]], list[torch.Tensor]]:
        """The parameters, the (index, name) of each tensor in their optimiser state, and those
        tensors after the parameters; rebuilt only when a parameter's state dict changed."""
        states = [self.optimizer.state.get(p) for p in self.params]
        sizes = [len(state) if state else 0 for state in states]
        # Optimisers update their state tensors in place once created; load_state_dict and
        # restore replace or drop whole state dicts. The cache keeps the dicts it was built
        # from alive, so an identity check cannot be fooled by a reused id.
        if sizes == self._sizes and all(a is b for a, b in zip(states, self._states, strict=True)):
            return self._live_lists
        keys: list[tuple[int, str]] = []
        tensors = [p.detach() for p in self.params]
        for i, state in enumerate(states):
            for name, value in (state or {}).items():
                if isinstance(value, torch.Tensor):
                    keys.append((i, name))
                    tensors.append(value)
        self._states, self._sizes = states, sizes
        self._live_lists = (self.params, keys, tensors)
        return self._live_lists

    def take(self) -> None:
        """Save the current state (in place when its layout is the one saved last time)."""
        take_all([self])

    def restore(self) -> None:
        """Put the saved state back. Optimiser state that did not exist when it was saved (the
        first step creates Adam's moments) is dropped, as a fresh optimiser would have none."""
        params, keys, tensors = self._live()
        with torch.no_grad():
            torch._foreach_copy_(tensors[: len(params)], self._saved[: len(params)])
        saved = dict(zip(self._keys, self._saved[len(params) :], strict=True))
        for i, p in enumerate(params):
            state = self.optimizer.state.get(p)
            if not state:
                continue
            names = [name for name, value in state.items() if isinstance(value, torch.Tensor)]
            if all((i, name) in saved for name in names):
                for name in names:
                    state[name].copy_(saved[(i, name)])
            else:
                del self.optimizer.state[p]


def take_all(snapshots: Sequence[LastGood]) -> None:
    """``take`` of every snapshot: one fused copy for all whose layout is the one saved last
    time (a stacked step refreshes every session's snapshot), fresh copies for the others."""
    targets: list[torch.Tensor] = []
    sources: list[torch.Tensor] = []
    for snapshot in snapshots:
        _, keys, tensors = snapshot._live()
        if keys == snapshot._keys and len(tensors) == len(snapshot._saved):
            targets += snapshot._saved
            sources += tensors
        else:
            snapshot._keys, snapshot._saved = keys, [t.detach().clone() for t in tensors]
    if targets:
        torch._foreach_copy_(targets, sources)
