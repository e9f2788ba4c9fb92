"""(c) A 16-config sweep (4 lr x 4 seeds) against training one config, same number of steps."""

from __future__ import annotations

import deqnet
from bench.common import Table, interleaved_medians, ratio

TITLE = "(c) Sweep of 16 configs (4 lr × 4 seeds) vs one config, same steps"
GRID = {"lr": [0.005, 0.01, 0.02, 0.04], "seed": [0, 1, 2, 3]}


def run(quick: bool) -> Table:
    data = deqnet.make_dataset("moons", n=512, noise=0.1, seed=0)
    train = deqnet.TrainConfig()
    steps = 2 if quick else 10
    table = Table(
        TITLE,
        [
            "model (default config)",
            "one config (Trainer) s",
            "sweep of 1 s",
            "sweep of 16 s",
            "16 / one",
            "speed-up vs 16 one by one",
        ],
    )
    families = ("node", "ruseckas") if quick else deqnet.FAMILIES
    for family in families:
        config = deqnet.ModelConfig(family=family)

        def one(config: deqnet.ModelConfig = config) -> None:
            model = deqnet.build_model(config, data.n_classes, seed=0)
            deqnet.Trainer(model, data, train).step(steps)

        times = interleaved_medians(
            {
                "one": one,
                "sweep1": lambda config=config: deqnet.sweep(data, config, train, {}, steps),
                "sweep16": lambda config=config: deqnet.sweep(data, config, train, GRID, steps),
            },
            repeats=1 if quick else 3,
        )
        table.rows.append(
            [
                family,
                f"{times['one']:.2f}",
                f"{times['sweep1']:.2f}",
                f"{times['sweep16']:.2f}",
                ratio(times["sweep16"], times["one"]),
                ratio(16 * times["one"], times["sweep16"]),
            ]
        )
    table.notes = [
        f"{steps} training steps per config on moons (n=512), end to end: building the models, "
        "training (with the Trainer's per-step test accuracy) and, for the sweep, the final "
        "evaluation of every cell. Target: 16 configs ≤ 3× one config. "
        '"speed-up vs 16 one by one" compares with 16 × the one-config time.',
        "Median of 3 interleaved repeats.",
    ]
    return table
