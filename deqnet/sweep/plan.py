"""How a sweep's cells are cut into chunks: the unit of work of every executor.

A chunk is some cells of one stack (cells that may share a stacked step), in grid order, at most
``CHUNK_CELLS`` of them. The cut depends only on the cells, never on the executor or on timing, so
the local and the Ray executor train the same stacks and return the same numbers (a stack's
composition can change a cell's float rounding: padded widths, a shared adaptive controller).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from deqnet.config import RunConfig, step_memory
from deqnet.sweep.grid import CellSpec, group_cells

# Cells per chunk. A stacked step stops scaling once its working set leaves the cache (16 stacked
# width-32 models cost 8x one, 4 of them 1.6x: bench (c)), so chunks stay small.
CHUNK_CELLS = 16


@dataclass(frozen=True)
class Chunk:
    """Cells trained together as one stack.

    Attributes:
        index: the chunk's place in the plan.
        cells: indices into the sweep's cells (``expand_grid`` order), ascending.
        cost: estimated relative cost of training it (cells x steps x evaluations x width), for
            submitting the largest chunks first.
    """

    index: int
    cells: tuple[int, ...]
    cost: float


def plan_chunks(specs: Sequence[CellSpec], max_cells: int = CHUNK_CELLS) -> list[Chunk]:
    """The chunks of a sweep: each stack cut into runs of at most ``max_cells`` cells."""
    chunks: list[Chunk] = []
    for members in group_cells(list(specs)):
        for start in range(0, len(members), max_cells):
            cells = tuple(members[start : start + max_cells])
            cost = sum(_cell_cost(specs[i]) for i in cells)
            chunks.append(Chunk(len(chunks), cells, cost))
    return chunks


def _cell_cost(spec: CellSpec) -> float:
    """Relative cost of one training step of a cell: evaluations per pass times the hidden
    width it carries (or D for the linear families), times its training points."""
    model = spec.model_config
    evaluations = model.layers if model.discrete else model.steps * model.n_segments
    width = model.width if model.family in ("node", "resnet") else model.dim
    return float(evaluations * (width + model.dim) * max(spec.data.n_train, 1))


def stack_step_memory(cells: Sequence[CellSpec]) -> int:
    """Estimated bytes of the autograd tape of one stacked step of the largest chunk.

    A chunk's step holds every member's tape at once (``deqnet.config.step_memory`` each, at the
    chunk's padded width and depth; an adaptive solver's unknown need counts as 0 here and is
    not checked before training).
    """
    worst = 0
    for chunk in plan_chunks(cells):
        configs = [cells[i].model_config for i in chunk.cells]
        padded = {"width": max(c.width for c in configs), "layers": max(c.layers for c in configs)}
        need = 0
        for i, config in zip(chunk.cells, configs, strict=True):
            run = RunConfig(model=config.replace(**padded), train=cells[i].train_config)
            need += step_memory(run, cells[i].data.n_train) or 0
        worst = max(worst, need)
    return worst
