"""The one rule for which models may share a stacked step: ``stack_key``.

Both the live trainer (every session's numbers exactly its own) and the sweep (as fast as
possible, to float rounding) group by it; only ``exact`` differs.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, NamedTuple

import torch

from deqnet.config import ModelConfig, TrainConfig
from deqnet.families import FAMILY_TABLE

if TYPE_CHECKING:
    from deqnet.training import Trainer

# Width bands of a padded stack: widths up to each bound share a stack padded to that bound.
# A stack step costs a fixed overhead (a few ms of Python and tiny ops) plus the hidden layer's
# arithmetic. Padding everything to the widest loses (lr x width 8-32: 9.0x one config), one
# stack per width pays the overhead four times (6.4x); bands of 16 trade the two (5.3x; widths
# 4-32: 4.3x against 5.0x). Measured with 16 node cells, 2026-12-06; bench (c2) prints it.
WIDTH_BANDS = (16, 32, 48, 64)


class DataSizes(NamedTuple):
    """What the data contributes to a stack's shapes: classes, train and test points.

    ``n_classes`` is the readout's size: 1 for regression (one real output, squared-error
    loss), at least 2 for classification, so the two tasks never share a stack.
    """

    n_classes: int
    n_train: int
    n_test: int


def stack_key(
    model: ModelConfig,
    train: TrainConfig,
    sizes: DataSizes,
    *,
    exact: bool,
    dtype: torch.dtype = torch.float32,
) -> Hashable | None:
    """Models with equal keys can share one stacked step; None: train alone.

    Always free to differ: T and gamma (per-model factors: a stack solves in s = t / T with T in
    the weights), learning rate, weight decay, clipping, optimiser, seeds and data values.

    ``exact=True`` (the live trainer): a model's numbers must be exactly those it gets alone,
    so widths and numbers of layers must be equal (padding changes the order of sums), and an
    adaptive solver trains alone (a shared step controller takes the hardest model's steps).
    ``exact=False`` (sweeps): widths share a stack within a band of ``WIDTH_BANDS``, layers of
    any number share one, and adaptive solves share one controller whose error test is every
    model's own; the numbers then equal a lone run's to float rounding.
    """
    family = FAMILY_TABLE[model.family]
    if exact and model.adaptive:
        return None
    batch = train.batch_size if 0 < train.batch_size < sizes.n_train else sizes.n_train
    shape: tuple = (model.family, model.dim, model.time_mode, model.n_segments)
    if family.uses_mlp:
        width = model.width if exact else next(b for b in WIDTH_BANDS if model.width <= b)
        shape += (model.activation, width)
    if family.uses_gamma:
        shape += (model.nonlinearity,)
    if family.continuous:
        shape += (model.solver, model.steps_per_segment)
        if model.adaptive:
            shape += (model.rtol, model.atol, model.max_steps)
    elif exact:
        shape += (model.layers,)
    return (shape, sizes, batch, train.loss, train.grad_mode, dtype)


def trainer_key(trainer: Trainer, *, exact: bool = True) -> Hashable:
    """``stack_key`` of a Trainer's model, config, data sizes and dtype; a trainer that must
    train alone gets a key of its own."""
    data = trainer.data
    sizes = DataSizes(data.n_classes, data.n_train, data.n_test)
    model = trainer.model
    key = stack_key(model.config, trainer.config, sizes, exact=exact, dtype=model.dtype)
    return ("alone", id(trainer)) if key is None else key
