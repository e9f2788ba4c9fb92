"""Benchmarks of deqnet: ``python -m bench`` prints markdown tables and writes bench/RESULTS.md.

Each table is a module with ``TITLE`` and ``run(quick: bool) -> Table``; ``REGISTRY`` lists
them in the order they run. To add a table, add a module and append it to ``REGISTRY``.
"""

from bench import (
    app_live,
    app_memory,
    app_pages,
    app_sweep,
    cost_growth,
    default_vs_torchdiffeq,
    digits,
    ray_sweep,
    sweep_axes,
    sweep_speedup,
    trainer_overhead,
)

REGISTRY = [
    trainer_overhead,
    default_vs_torchdiffeq,
    sweep_speedup,
    sweep_axes,
    cost_growth,
    app_pages,
    app_live,
    app_memory,
    app_sweep,
    digits,
    ray_sweep,
]
