"""(d) How the cost of a training step grows with data size, depth and width (log-log fit)."""

from __future__ import annotations

import deqnet
from bench.common import Table, interleaved_medians, loglog_slope, ms

TITLE = "(d) Cost growth of one Trainer step (fitted log-log exponent)"


def run(quick: bool) -> Table:
    axes = [
        (
            "points N (node, dataset n)",
            "n",
            [256, 1024] if quick else [256, 512, 1024, 2048, 4096, 8192],
        ),
        ("solver steps (node, rk4)", "steps", [5, 20] if quick else [5, 10, 20, 40, 80, 160]),
        ("layers (resnet)", "layers", [5, 20] if quick else [5, 10, 20, 40, 80, 160]),
        ("width (node)", "width", [4, 16] if quick else [4, 8, 16, 32, 64]),
    ]
    table = Table(TITLE, ["varied", "values", "ms per step", "exponent"])
    for label, name, values in axes:
        jobs = {value: _job(name, value) for value in values}
        times = interleaved_medians(jobs, repeats=1 if quick else 3, per_repeat=1 if quick else 2)
        seconds = [times[v] for v in values]
        table.rows.append(
            [
                label,
                " / ".join(str(v) for v in values),
                " / ".join(ms(s) for s in seconds),
                f"{loglog_slope(values, seconds):.2f}",
            ]
        )
    table.notes = [
        "Default config (node, width 16, rk4 with 10 steps; resnet with 10 layers) on moons "
        "(n=512, 70 % train) unless varied; one full-batch Adam step including the test "
        "accuracy of each step. Exponent 1 = linear growth; below 1 means fixed per-operation "
        "overhead still dominates at the small end. Median CPU time of 3 interleaved repeats "
        "of 2 steps.",
    ]
    return table


def _job(name: str, value: int):
    n = value if name == "n" else 512
    data = deqnet.make_dataset("moons", n=n, noise=0.1, seed=0)
    if name == "layers":
        config = deqnet.ModelConfig(family="resnet", layers=value)
    elif name in ("steps", "width"):
        config = deqnet.ModelConfig(**{name: value})
    else:
        config = deqnet.ModelConfig()
    trainer = deqnet.Trainer(deqnet.build_model(config, data.n_classes, seed=0), data)
    return lambda: trainer.step(1)
