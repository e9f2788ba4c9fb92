"""Results files of ``python -m deqnet.sweep`` for tests, written with the command line's own
``write_results`` and made-up metrics (nothing is trained): cell i has test accuracy
``0.5 + 0.01 * i``, and the cells in ``diverged`` have status "diverged"."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from deqnet import RunConfig
from deqnet.sweep import expand_grid, validate_grid
from deqnet.sweep.results_file import FORMAT, write_results

# Three axes, so a 2-D view of it slices the third: 2 x 3 x 2 = 12 cells.
GRID: dict[str, list[Any]] = {"lr": [0.01, 0.1], "seed": [0, 1, 2], "T": [0.5, 1.0]}
STEPS = 20


def accuracy(cell: int) -> float:
    return 0.5 + 0.01 * cell


def write_fake_results(
    path: Path,
    grid: Mapping[str, Sequence[Any]] = GRID,
    diverged: Collection[int] = (7,),
    best: int | None = None,
) -> Path:
    """Write a results file of ``grid`` at ``path``; ``best``: a cell given accuracy 0.99."""
    run = RunConfig.from_dict({"data": {"name": "moons", "n": 48}, "model": {}, "train": {}})
    checked = validate_grid(dict(grid))
    specs = expand_grid(run.data, run.model, run.train, checked)
    records = [
        {
            "cell": i,
            "chunk": 0,
            "status": "diverged" if i in diverged else "ok",
            "message": "loss is not finite" if i in diverged else "",
            "nfe": 100 + i,
            "seconds": 0.5,
            "metrics": {
                "train_acc": 0.6,
                "test_acc": 0.99 if i == best else accuracy(i),
                "train_loss": 1.0 / (i + 1),
                "test_loss": 0.5,
            },
        }
        for i in range(len(specs))
    ]
    meta = {
        "format": FORMAT,
        "grid": {name: list(values) for name, values in checked.items()},
        "steps": STEPS,
        "spec": {**run.to_dict(), "grid": dict(grid), "steps": STEPS},
    }
    write_results(path, meta, specs, records)
    return path
