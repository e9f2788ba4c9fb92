"""(c2) 16 configs against one, along each axis a lecture sweeps: seed, depth T, width, steps."""

from __future__ import annotations

import os

import deqnet
from bench.common import Table, clock, interleaved_samples, paired_ratio

TITLE = "(c2) A 16-config sweep vs one config, along each axis (node, rk4)"
LRS = [0.005, 0.01, 0.02, 0.04]
AXES = {
    "lr × seed": ("seed", [0, 1, 2, 3]),
    "lr × depth T": ("T", [0.5, 1.0, 2.0, 4.0]),
    "lr × width 8–32": ("width", [8, 16, 24, 32]),
    "lr × solver steps 5–20": ("steps", [5, 10, 15, 20]),
}
TARGETS = {"lr × seed": "≤ 2.5×", "lr × depth T": "≤ 3×", "lr × width 8–32": "≤ 4×"}
TARGETS["lr × solver steps 5–20"] = "≤ 6×"
REPEATS = 7


def run(quick: bool) -> Table:
    data = deqnet.make_dataset("moons", n=512, noise=0.1, seed=0)
    train = deqnet.TrainConfig()
    model = deqnet.ModelConfig()
    steps = 2 if quick else 20
    axes = dict(list(AXES.items())[:1]) if quick else AXES
    training: dict[str, list[float]] = {"one": [], **{name: [] for name in axes}}

    def one() -> None:
        trainer = deqnet.Trainer(deqnet.build_model(model, data.n_classes, seed=0), data, train)
        start = clock()
        trainer.step(steps)
        training["one"].append(clock() - start)

    def sweep_of(name: str, axis: str, values: list):
        def job() -> None:
            start = clock()
            deqnet.sweep(data, model, train, {"lr": LRS, axis: values}, steps)
            training[name].append(clock() - start)

        return job

    jobs = {"one": one, **{name: sweep_of(name, *spec) for name, spec in axes.items()}}
    interleaved_samples(jobs, repeats=1 if quick else REPEATS, warmup=not quick)
    table = Table(TITLE, ["grid (16 cells)", "16 / one", "target", "stacks"])
    for name, (axis, values) in axes.items():
        result = deqnet.sweep(data, model, train, {"lr": LRS, axis: values}, 1)
        table.rows.append(
            [
                name,
                f"{paired_ratio(training[name], training['one']):.2f}×",
                TARGETS[name],
                str(len(result.groups)),
            ]
        )
    table.notes = [
        f"{steps} full-batch steps per config on moons (n=512, 358 train points), the default "
        "node model (width 16, rk4, 10 steps). CPU seconds of the whole deqnet.sweep call "
        "(building, training, final metrics) against Trainer.step of one config; each ratio "
        f"is the median of {REPEATS} per-repeat ratios, every job timed side by side. "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}.",
        "Stacks: depths share one (solved in s = t/T, T in the weights); widths share a padded "
        "stack within bands of 16 (8 and 16 → 16; 24 and 32 → 32); solver steps cannot share a "
        "time grid, so each step count is its own stack.",
    ]
    return table
