"""(i) Digits: training time and test accuracy of the conv net, its distance to the ODE as L
grows, and the backward adjoint against autograd."""

from __future__ import annotations

import statistics

import numpy as np
import torch

from bench.common import Table, clock
from deqnet.digits.analysis import adjoint, convergence, input_gradient
from deqnet.digits.data import load_digits_dataset
from deqnet.digits.models import ConvFeedForward, ConvODE, DigitsConfig
from deqnet.digits.training import DigitsTrainConfig, DigitsTrainer

TITLE = "(i) Digits page: conv net training, distance to its ODE, adjoint vs autograd"
SETTINGS = {
    "default (C = 4, L = 10, tied)": DigitsConfig(),
    "untied": DigitsConfig(tied=False),
    "largest on the page (C = 8, L = 40)": DigitsConfig(channels=8, layers=40),
}
CONVERGENCE_IMAGES = 8


def run(quick: bool) -> Table:
    data = load_digits_dataset()
    train = DigitsTrainConfig(train_steps=10 if quick else 100)
    repeats = 1 if quick else 3
    table = Table(
        TITLE,
        [
            "setting",
            "training s (median)",
            "test accuracy",
            "slope of ‖x_L − x(T)‖ vs L, trained",
            "same, untrained",
        ],
    )
    for name, config in SETTINGS.items():
        seconds, model, record = [], None, None
        for _ in range(repeats):
            model = ConvFeedForward(config)
            trainer = DigitsTrainer(model, data, train)
            start = clock()
            trainer.step(train.train_steps)
            seconds.append(clock() - start)
            record = trainer.history[-1]
        images = data.x_test[:CONVERGENCE_IMAGES]
        trained = convergence(model, images).slope
        untrained = convergence(ConvFeedForward(config), images).slope
        table.rows.append(
            [
                name,
                f"{statistics.median(seconds):.2f}",
                f"{100 * record.test_acc:.1f} %",
                f"{trained:.2f}",
                f"{untrained:.2f}",
            ]
        )
    table.notes = [
        f"{train.train_steps} Adam steps on mini-batches of {train.batch_size} of the "
        f"{len(data.y_train)} training images; test accuracy on all {len(data.y_test)} test "
        f"images. Slope: least-squares fit of the largest ‖x_L − x(T)‖ over {CONVERGENCE_IMAGES} "
        "test digits at L = 10 … 160 (the ODE of the net discretized again; −1 is first order). "
        "Where the trained column is flatter than −1, training made the flow grow the state and "
        "the error falls more slowly at small L.",
        f"Adjoint: {_adjoint_error(data):.1e} = largest |a(0) − ∂ℓ/∂x(0)| / largest |∂ℓ/∂x(0)| "
        "over 5 test digits, a(0) from the backward adjoint ODE (rk4, 200 steps, float64), "
        "∂ℓ/∂x(0) by autograd through the same solver.",
    ]
    return table


def _adjoint_error(data) -> float:
    ode = ConvODE(DigitsConfig(layers=5, steps=200, gamma=0.5)).double()
    images, labels = data.x_test[:5].astype(np.float64), data.y_test[:5]
    _, a = adjoint(ode, ode.lift(torch.as_tensor(images)), torch.as_tensor(labels), [0.0])
    expected = input_gradient(ode, images, labels)
    return float(np.abs(a[0].numpy() - expected).max() / np.abs(expected).max())
