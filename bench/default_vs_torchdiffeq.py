"""(b) deqnet's default config against torchdiffeq out of the box: time to 97 % test accuracy."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

import torch

import deqnet
from bench.common import Table, clock, ratio
from bench.plain import PlainLoop
from deqnet.models import DeqModel

TITLE = "(b) Default config vs torchdiffeq out of the box: time to 97 % test accuracy"
TARGET = 0.97


class Race(NamedTuple):
    steps: int
    wall: float
    cpu: float
    accuracy: float
    reached: bool


def run(quick: bool) -> Table:
    data = deqnet.make_dataset("moons", n=512, noise=0.1, seed=0)
    max_steps, max_seconds = (5, 5.0) if quick else (400, 90.0)
    ours = deqnet.build_model(deqnet.ModelConfig(), data.n_classes, seed=0)
    baseline = PlainLoop(ours, data, deqnet.TrainConfig(), odeint_kwargs=None)
    trainer = deqnet.Trainer(ours, data, deqnet.TrainConfig())
    ours_race = _race(
        lambda: trainer.step(1),
        lambda: deqnet.evaluate(ours, data)["test_acc"],
        max_steps,
        max_seconds,
    )
    ours_nfe = _deqnet_nfe(ours, data)
    baseline_race = _race(baseline.step, baseline.test_accuracy, max_steps, max_seconds)
    table = Table(
        TITLE,
        [
            "solver",
            "steps",
            "wall s",
            "CPU s",
            "CPU ratio",
            "test acc",
            "NFE per forward (final)",
            "reached",
        ],
    )
    for name, race, nfe in (
        ("deqnet default: Trainer, rk4, 10 steps", ours_race, ours_nfe),
        (
            "torchdiffeq default: dopri5, rtol=1e-7, atol=1e-9",
            baseline_race,
            baseline.forward_nfe(),
        ),
    ):
        table.rows.append(
            [
                name,
                str(race.steps),
                f"{race.wall:.1f}",
                f"{race.cpu:.1f}",
                ratio(race.cpu, ours_race.cpu),
                f"{race.accuracy:.3f}",
                str(nfe),
                "yes" if race.reached else "no (cap)",
            ]
        )
    table.notes = [
        "Same weights at step 0 (node, width 16, tanh, T=1), same data (moons, n=512), same "
        "full-batch Adam(lr=0.02) with clipping at 5; only the solver differs. Training stops "
        f"when the test accuracy of the current weights reaches {TARGET:.0%}, or after "
        f"{max_steps} steps or {max_seconds:.0f} CPU s. Only the training steps are timed; the "
        "accuracy checks between steps are not (the Trainer's own per-step test evaluation is "
        "part of its step and is timed, which counts against deqnet).",
        "One race per solver: with fixed seeds the step count is deterministic, and the time is "
        "a sum over all steps rather than a median of repeats (three races would triple the "
        "longest table of the run).",
    ]
    return table


def _race(
    step: Callable[[], object], accuracy: Callable[[], float], max_steps: int, max_seconds: float
) -> Race:
    """Train until the test accuracy reaches TARGET (or a cap); times only the steps."""
    wall = cpu = 0.0
    acc = accuracy()
    for n in range(1, max_steps + 1):
        wall_start, cpu_start = time.perf_counter(), clock()
        step()
        wall += time.perf_counter() - wall_start
        cpu += clock() - cpu_start
        acc = accuracy()
        if acc >= TARGET:
            return Race(n, wall, cpu, acc, True)
        if cpu > max_seconds:
            break
    return Race(n, wall, cpu, acc, False)


def _deqnet_nfe(model: DeqModel, data: deqnet.Dataset) -> int:
    """Field evaluations of one forward pass over the training set (current weights)."""
    model.nfe = 0
    with torch.no_grad():
        model(torch.as_tensor(data.x_train))
    return model.nfe
