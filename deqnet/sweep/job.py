"""One chunk of a sweep, trained: ``run_chunk`` -> one picklable ``CellOutcome`` per cell.

This is what every executor runs, in this process or in a Ray worker: it takes configs and data
and returns plain values (histories, metrics, weights as numpy arrays), never torch modules, so a
result crosses a process boundary in a few kB per cell and a cell's model is rebuilt only when
it is opened.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from deqnet.engine import StepRecord, evaluate_together, step_together
from deqnet.models import DeqModel, build_model
from deqnet.sweep.grid import CellSpec
from deqnet.training import Trainer


@dataclass(frozen=True, eq=False)
class CellOutcome:
    """What training one cell produced.

    Attributes:
        cell: the cell's index in the sweep (``expand_grid`` order).
        history: one StepRecord per step taken.
        metrics: train_acc, test_acc, train_loss, test_loss of the final weights.
        status, message: "ok" or "diverged", and why.
        nfe: evaluations of the shared solves this cell took part in (forward + backward).
        seconds: the chunk's training wall time divided by its number of cells.
        cpu_seconds: the chunk's training CPU time (this process) divided by its cells.
        state: the trained weights, parameter name -> array (``state_dict`` as numpy).
    """

    cell: int
    history: tuple[StepRecord, ...]
    metrics: dict[str, float]
    status: str
    message: str
    nfe: int
    seconds: float
    cpu_seconds: float
    state: dict[str, np.ndarray]


def initial_model(spec: CellSpec, dtype: torch.dtype) -> DeqModel:
    """The cell's model exactly as ``build_model`` makes it for a lone run (seed = train seed)."""
    model = build_model(spec.model_config, spec.data.n_classes, spec.train_config.seed)
    return model.to(dtype)


def trained_model(spec: CellSpec, state: dict[str, np.ndarray], dtype: torch.dtype) -> DeqModel:
    """The cell's model with the weights of ``state`` (a ``CellOutcome.state``)."""
    model = initial_model(spec, dtype)
    # A copy: arrays from another process (Ray's object store) are read-only.
    model.load_state_dict({name: torch.tensor(value) for name, value in state.items()})
    return model


def run_chunk(
    specs: Sequence[CellSpec],
    cells: Sequence[int],
    steps: int,
    dtype: torch.dtype = torch.float32,
    progress: Callable[[int], None] | None = None,
) -> list[CellOutcome]:
    """Train ``specs`` (the chunk's cells, whose indices are ``cells``) together for ``steps``.

    ``progress`` is called after each stacked step with the number of cell-steps done so far.
    """
    trainers = [Trainer(initial_model(s, dtype), s.data, s.train_config) for s in specs]
    start, cpu = time.perf_counter(), time.process_time()
    for step in range(steps):
        step_together(trainers)
        if progress is not None:
            progress((step + 1) * len(specs))
    seconds = (time.perf_counter() - start) / len(specs)
    cpu_seconds = (time.process_time() - cpu) / len(specs)
    metrics = evaluate_together(
        [t.model for t in trainers], [s.data for s in specs], specs[0].train_config.loss
    )
    outcomes = []
    for j, (cell, one) in enumerate(zip(cells, trainers, strict=True)):
        history = tuple(one.history)
        outcomes.append(
            CellOutcome(
                cell=cell,
                history=history,
                metrics=metrics[j],
                status=one.status,
                message=one.message,
                nfe=sum(r.nfe_forward + r.nfe_backward for r in history),
                seconds=seconds,
                cpu_seconds=cpu_seconds,
                state={k: v.detach().numpy().copy() for k, v in one.model.state_dict().items()},
            )
        )
    return outcomes
