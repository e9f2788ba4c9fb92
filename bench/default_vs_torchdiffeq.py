"""(b) deqnet's default config against torchdiffeq out of the box: time to 97 % test accuracy."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

import deqnet
from bench.common import Table, ratio
from bench.plain import PlainLoop
from deqnet.models import DeqModel

TITLE = "(b) Default config vs torchdiffeq out of the box: wall time to 97 % test accuracy"
TARGET = 0.97


def run(quick: bool) -> Table:
    data = deqnet.make_dataset("moons", n=512, noise=0.1, seed=0)
    model_config, train = deqnet.ModelConfig(), deqnet.TrainConfig()
    max_steps, max_seconds = (5, 5.0) if quick else (400, 90.0)

    ours = deqnet.build_model(model_config, data.n_classes, seed=0)
    baseline = PlainLoop(ours, data, train, odeint_kwargs=None)
    trainer = deqnet.Trainer(ours, data, train)
    rows = [
        (
            "deqnet default: Trainer, rk4, 10 steps",
            _race(
                lambda: trainer.step(1),
                lambda: deqnet.evaluate(ours, data)["test_acc"],
                max_steps,
                max_seconds,
            ),
        ),
        (
            "torchdiffeq default: odeint dopri5, rtol=1e-7, atol=1e-9",
            _race(baseline.step, baseline.test_accuracy, max_steps, max_seconds),
        ),
    ]
    table = Table(
        TITLE,
        ["solver", "steps", "seconds", "test acc", "NFE per forward", "reached", "time ratio"],
    )
    ours_seconds = rows[0][1][1]
    for name, (steps, seconds, acc, reached) in rows:
        nfe = _deqnet_nfe(ours, data) if name.startswith("deqnet") else baseline.forward_nfe()
        table.rows.append(
            [
                name,
                str(steps),
                f"{seconds:.1f}",
                f"{acc:.3f}",
                str(nfe),
                "yes" if reached else "no (cap)",
                ratio(seconds, ours_seconds),
            ]
        )
    table.notes = [
        f"Same nn weights at step 0 (node, width 16, tanh, T=1), same data (moons, n=512), same "
        f"Adam(lr=0.02) with clipping at 5; only the solver differs. Training stops when the "
        f"test accuracy of the current weights reaches {TARGET:.0%}, or after {max_steps} steps "
        f"or {max_seconds:.0f} s of training. Seconds count training steps only; the accuracy "
        "checks between steps are not timed (the Trainer's own per-step test evaluation is part "
        "of its step and is timed, which counts against deqnet).",
        "One run per solver: with fixed seeds the step count is deterministic; the seconds are "
        "one measurement on a shared machine.",
    ]
    return table


def _race(
    step: Callable[[], object], accuracy: Callable[[], float], max_steps: int, max_seconds: float
) -> tuple[int, float, float, bool]:
    """(steps, training seconds, final test accuracy, reached) of training until TARGET."""
    seconds, acc = 0.0, accuracy()
    for n in range(1, max_steps + 1):
        start = time.perf_counter()
        step()
        seconds += time.perf_counter() - start
        acc = accuracy()
        if acc >= TARGET:
            return n, seconds, acc, True
        if seconds > max_seconds:
            break
    return n, seconds, acc, False


def _deqnet_nfe(model: DeqModel, data: deqnet.Dataset) -> int:
    """Field evaluations of one forward pass over the training set (current weights)."""
    model.nfe = 0
    with torch.no_grad():
        model(torch.as_tensor(data.x_train))
    return model.nfe
