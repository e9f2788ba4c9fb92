"""Training blow-ups: a catalogue of configurations that diverge, each caught by the Trainer.

For every case: status "diverged", a message that says when, why and what was restored, finite
weights, and those weights are exactly the weights an independent replay reaches after the
number of steps the message names (the last good snapshot). Run with ``-s`` for the table.
Negative gamma is not a blow-up the Trainer sees: every entrance (config, link, run file,
sidebar) refuses it first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch

from deqnet import ConfigError, ModelConfig, RunConfig, TrainConfig, Trainer, build_model
from deqnet.datasets import make_dataset
from deqnet.sharing import RunFileError, run_from_json, run_from_query, run_to_json

MAX_STEPS = 40  # every case diverges well within this many steps


def _growth(rate: float) -> Callable[[torch.nn.Module], None]:
    """Set the paper's linear weights w(t) = rate * I and b = 0: the flow grows like e^(rate t)."""

    def apply(model: torch.nn.Module) -> None:
        with torch.no_grad():
            model.linear.w.copy_(rate * torch.eye(model.config.dim).expand_as(model.linear.w))
            model.linear.b.zero_()

    return apply


@dataclass(frozen=True)
class Case:
    name: str
    model: ModelConfig
    train: TrainConfig
    cause: str  # words the message must contain
    init: Callable[[torch.nn.Module], None] | None = None


NAN = "loss became"
CASES = [
    Case(
        "SGD, huge lr, no clipping (paper's ODE)",
        ModelConfig(family="ruseckas", T=10.0, gamma=0.0),
        TrainConfig(optimizer="sgd", lr=10.0, grad_clip=0.0),
        NAN,
    ),
    Case(
        "SGD, huge lr, no clipping (feed-forward)",
        ModelConfig(family="feedforward", layers=10, T=1.0),
        TrainConfig(optimizer="sgd", lr=10.0, grad_clip=0.0),
        NAN,
    ),
    Case(
        "long T with relu",
        ModelConfig(width=8, activation="relu", T=10.0),
        TrainConfig(lr=1.0),
        NAN,
    ),
    Case(
        "stiff dopri5, tiny max_steps",
        ModelConfig(width=8, solver="dopri5", rtol=1e-10, atol=1e-10, max_steps=10),
        TrainConfig(),
        "max-steps bound",
    ),
    Case(
        "ruseckas, w = 10 I, T = 10 (rk4)",
        ModelConfig(family="ruseckas", T=10.0, gamma=0.0),
        TrainConfig(),
        NAN,
        _growth(10.0),
    ),
    Case(
        "ruseckas, w = 3 I, T = 10 (dopri5)",
        ModelConfig(family="ruseckas", T=10.0, gamma=0.0, solver="dopri5"),
        TrainConfig(),
        "step size shrank",
        _growth(3.0),
    ),
    Case(
        "feed-forward, gamma * dt = 25",
        ModelConfig(family="feedforward", layers=4, T=10.0, gamma=10.0),
        TrainConfig(),
        NAN,
    ),
    Case(
        "time mode, huge lr",
        ModelConfig(width=8, time_mode="time", T=5.0, activation="relu"),
        TrainConfig(lr=10.0),
        NAN,
    ),
    Case(
        "adjoint gradients, huge lr",
        ModelConfig(width=8, activation="relu", T=5.0),
        TrainConfig(lr=10.0, grad_mode="adjoint"),
        NAN,
    ),
    Case(
        "MSE loss, huge lr",
        ModelConfig(width=8, activation="relu", T=10.0),
        TrainConfig(lr=10.0, loss="mse"),
        NAN,
    ),
    Case(
        "piecewise, 20 segments, huge lr",
        ModelConfig(
            width=8, time_mode="piecewise", segments=20, steps=20, activation="relu", T=5.0
        ),
        TrainConfig(lr=10.0),
        NAN,
    ),
    Case(
        "ResNet, 50 relu layers, huge lr",
        ModelConfig(family="resnet", width=8, layers=50, activation="relu", T=10.0),
        TrainConfig(lr=10.0),
        NAN,
    ),
]


@pytest.fixture(scope="module")
def data():
    return make_dataset("moons", n=64, seed=0)


def _fresh(case: Case) -> torch.nn.Module:
    model = build_model(case.model, 2, seed=case.train.seed)
    if case.init is not None:
        case.init(model)
    return model


def _weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _run(case: Case, data) -> tuple[Trainer, int]:
    trainer = Trainer(_fresh(case), data, case.train)
    trainer.step(MAX_STEPS)
    match = re.search(
        r"diverged at step (\d+): .*last good weights \(step (\d+)\)", trainer.message
    )
    assert match, trainer.message
    return trainer, int(match.group(2))


def test_blow_up_catalogue(data) -> None:
    rows = []
    for case in CASES:
        trainer, good_step = _run(case, data)
        assert trainer.status == "diverged", case.name
        assert case.cause in trainer.message, (case.name, trainer.message)
        assert "restored" in trainer.message and "Try a smaller learning rate" in trainer.message
        weights = _weights(trainer.model)
        assert all(torch.isfinite(w).all() for w in weights.values()), case.name
        # The restored weights are exactly where an independent run is after good_step steps.
        replay = Trainer(_fresh(case), data, case.train)
        replay.step(good_step)
        assert replay.status == "ok" and replay.steps_done == good_step
        expected = _weights(replay.model)
        assert all(torch.equal(weights[k], expected[k]) for k in expected), case.name
        assert trainer.step(5) == [] and trainer.status == "diverged"  # it stays stopped
        rows.append((case.name, trainer.steps_done + 1, good_step, trainer.message))
    width = max(len(r[0]) for r in rows)
    print(f"\n{'configuration':{width}}  diverged at  restored  reason")
    for name, at, good, message in rows:
        reason = message.split(": ", 1)[1].split(". ", 1)[0]
        print(f"{name:{width}}  {at:>11}  {good:>8}  {reason}")
    assert len(rows) >= 10
    print(f"Blow-ups: {len(rows)} tried, {len(rows)} caught")


def test_negative_gamma_is_refused_at_every_entrance() -> None:
    with pytest.raises(ConfigError, match="gamma"):
        ModelConfig(family="ruseckas", gamma=-1.0)
    # A link clamps it to 0 and says so.
    result = run_from_query({"family": "ruseckas", "gamma": "-5"})
    assert result.run.model.gamma == 0.0
    assert any("gamma" in notice for notice in result.notices)
    # A run file with a negative gamma is rejected with a message.
    run = RunConfig(model=ModelConfig(family="ruseckas"))
    model = build_model(run.model, 2, seed=0)
    document = json.loads(run_to_json(run, model, []))
    document["config"]["model"]["gamma"] = -0.1
    with pytest.raises(RunFileError, match="gamma"):
        run_from_json(json.dumps(document))
    # The sidebar's gamma slider starts at 0.
    from ui.controls import CONTROLS

    assert CONTROLS["gamma"].options(run)[0] == 0.0
