"""(a) Trainer.step against a hand-written torchdiffeq loop on the identical model and solver."""

from __future__ import annotations

import deqnet
from bench.common import Table, interleaved_medians, ms, ratio
from bench.plain import PlainLoop

TITLE = "(a) Trainer step vs a plain torchdiffeq loop (same model, solver, init and data)"


def run(quick: bool) -> Table:
    data = deqnet.make_dataset("moons", n=512, noise=0.1, seed=0)
    train = deqnet.TrainConfig()
    table = Table(
        TITLE,
        [
            "model (default config)",
            "plain loop ms/step",
            "plain + test eval ms/step",
            "Trainer ms/step",
            "Trainer / plain",
            "Trainer / (plain + eval)",
            "max abs Δloss, 10 steps",
        ],
    )
    for family in ("node", "ruseckas"):
        config = deqnet.ModelConfig(family=family)
        table.rows.append(_row(config, data, train, quick))
    table.notes = [
        "Both start from the same weights (the plain loop copies the deqnet model's initial "
        "weights into nn.Linear layers) and train full-batch with Adam(lr=0.02) and gradient "
        "clipping at 5 on moons (n=512, 358 train points); the solver is rk4 with 10 steps on "
        "linspace(0, 1, 11). The last column checks that they really compute the same thing.",
        "The plain loop only trains. Every Trainer step also records the test accuracy of the "
        "weights it started from, snapshots the last good weights and checks loss, gradients "
        "and weights for NaN. With a fixed-step solver the 154 test points ride along in the "
        "training forward pass (rows are independent, and these tiny models cost per tensor "
        'operation, not per point), so the "plain + test eval" column — the plain loop with a '
        "separate test forward pass — is what the Trainer would cost without that trick.",
        "Timings: median CPU time over 7 interleaved repeats of 5 steps each.",
        "Trainer.step is the engine's step with a stack of one (deqnet.engine.step_together): "
        "feature-major batched products, the sigmoid form of tanh with its factors in the "
        "weights, T folded into the weights for a solve in s = t/T. The remaining gap is the "
        "Trainer's per-step bookkeeping.",
    ]
    return table


def _row(
    config: deqnet.ModelConfig, data: deqnet.Dataset, train: deqnet.TrainConfig, quick: bool
) -> list[str]:
    check_model = deqnet.build_model(config, data.n_classes, seed=0)
    plain = PlainLoop(check_model, data, train, {"method": config.solver})
    trainer = deqnet.Trainer(check_model, data, train)
    steps = 2 if quick else 10
    plain_losses = [plain.step() for _ in range(steps)]
    trainer_losses = [r.loss for r in trainer.step(steps)]
    gap = max(abs(a - b) for a, b in zip(plain_losses, trainer_losses, strict=True))

    def plain_with_eval() -> None:
        plain_eval.step()
        plain_eval.test_accuracy()

    model = deqnet.build_model(config, data.n_classes, seed=0)
    plain = PlainLoop(model, data, train, {"method": config.solver})
    plain_eval = PlainLoop(model, data, train, {"method": config.solver})
    trainer = deqnet.Trainer(model, data, train)
    times = interleaved_medians(
        {"plain": plain.step, "plain+eval": plain_with_eval, "trainer": lambda: trainer.step(1)},
        repeats=1 if quick else 7,
        per_repeat=1 if quick else 5,
    )
    return [
        config.family,
        ms(times["plain"]),
        ms(times["plain+eval"]),
        ms(times["trainer"]),
        ratio(times["trainer"], times["plain"]),
        ratio(times["trainer"], times["plain+eval"]),
        f"{gap:.1e}",
    ]
