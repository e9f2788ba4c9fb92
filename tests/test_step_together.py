"""``step_together``: many Trainers, one batched step, and nobody's numbers depend on the others.

The oracle for "does not depend on who else trains" is the same trainer stepped alone through the
same engine (a stack of one): its records and weights must be equal bit for bit. The oracle for
"is the Trainer's step" is ``Trainer.step`` itself, in float64, to rounding.
"""

from __future__ import annotations

import pytest
import torch

import deqnet
from deqnet.engine import step_together, trainer_key
from deqnet.families import FAMILIES


def _trainer(
    family: str,
    i: int,
    *,
    dtype: torch.dtype = torch.float32,
    optimizer: str = "adam",
    batch_size: int = 0,
    lr: float | None = None,
    grad_clip: float = 5.0,
    **model: object,
) -> deqnet.Trainer:
    """Trainer i: its own data seed, initial weights, learning rate and optimiser."""
    model = {"width": 8, "steps": 4, "layers": 6, **model}
    run = deqnet.RunConfig(
        data=deqnet.DataConfig(name="moons", n=96, seed=i),
        model=deqnet.ModelConfig(family=family, **model),
        train=deqnet.TrainConfig(
            seed=i,
            lr=0.01 * (1 + i % 3) if lr is None else lr,
            optimizer=optimizer,
            batch_size=batch_size,
            grad_clip=grad_clip,
        ),
    )
    data = run.data.make()
    net = deqnet.build_model(run.model, data.n_classes, seed=i).to(dtype)
    return deqnet.Trainer(net, data, run.train)


def _weights(trainer: deqnet.Trainer) -> list[torch.Tensor]:
    return [p.detach().clone() for p in trainer.model.parameters()]


@pytest.mark.parametrize("family", FAMILIES)
def test_a_trainer_steps_the_same_alone_or_among_seven_others(family: str) -> None:
    crowd = [_trainer(family, i, batch_size=48 if family == "node" else 0) for i in range(8)]
    crowd[5] = _trainer(family, 5, optimizer="sgd", batch_size=crowd[0].config.batch_size)
    alone = _trainer(family, 3, batch_size=crowd[0].config.batch_size)
    assert len({trainer_key(t) for t in [*crowd, alone]}) == 1
    for _ in range(6):
        step_together(crowd)
        step_together([alone])
    assert crowd[3].history == [r._replace(seconds=crowd[3].history[i].seconds)
                                for i, r in enumerate(alone.history)]  # fmt: skip
    assert all(torch.equal(a, b) for a, b in zip(_weights(crowd[3]), _weights(alone), strict=True))


@pytest.mark.parametrize(
    ("family", "shape"),
    [
        ("ruseckas", {"augment": 1}),
        ("node", {"width": 5, "augment": 1}),
        ("resnet", {"width": 16, "augment": 1, "time_mode": "time"}),
        ("resnet", {"width": 1, "augment": 3, "batch_size": 0}),
    ],
)
def test_odd_shapes_step_the_same_alone_or_among_seven_others(family: str, shape: dict) -> None:
    """Shapes whose per-model slices fall at different alignments in a stack (37 + 29 points,
    odd widths, D = 3) and width 1, whose products have size-1 dimensions (ambiguous strides)."""
    shape = {"batch_size": 37, **shape}
    crowd = [_trainer(family, i, **shape) for i in range(8)]
    alone = _trainer(family, 3, **shape)
    for _ in range(4):
        step_together(crowd)
        step_together([alone])
    assert [r.loss for r in crowd[3].history] == [r.loss for r in alone.history]
    assert all(torch.equal(a, b) for a, b in zip(_weights(crowd[3]), _weights(alone), strict=True))


def test_members_may_join_and_leave_between_steps() -> None:
    """A class changes between steps: the trainer's curve is still its lone curve."""
    members = [_trainer("node", i) for i in range(4)]
    alone = _trainer("node", 0)
    for step in range(8):
        present = [members[0]] + members[1 + step % 3 :]  # 1 to 3 others, changing
        step_together(present)
        step_together([alone])
    losses = [r.loss for r in members[0].history]
    assert losses == [r.loss for r in alone.history]
    assert len(members[1].history) < 8  # the others really came and went


def test_a_diverging_member_stops_with_the_trainers_message_and_the_rest_go_on(float64) -> None:
    # gamma=3 with Euler on [0, 2]: lr=1 overshoots into the unstable cubic regime within a few
    # steps (a NaN); the default learning rate trains normally.
    ode = {"dtype": float64, "solver": "euler", "steps": 10, "T": 2.0, "gamma": 3.0}
    wild, wild_alone = (_trainer("ruseckas", 1, lr=1.0, grad_clip=0.0, **ode) for _ in "ab")
    calm, calm_alone = (_trainer("ruseckas", 2, **ode) for _ in "ab")
    for _ in range(12):
        step_together([wild, calm])
        step_together([calm_alone])
    wild_alone.step(12)
    assert wild.status == "diverged" and wild_alone.status == "diverged"
    assert wild.message == wild_alone.message
    assert len(wild.history) == len(wild_alone.history) < 12
    assert all(torch.isfinite(p).all() for p in wild.model.parameters())
    assert calm.status == "ok" and len(calm.history) == 12
    assert [r.loss for r in calm.history] == [r.loss for r in calm_alone.history]


def test_keys_keep_apart_what_would_mix() -> None:
    base = _trainer("node", 0)
    assert trainer_key(base) == trainer_key(_trainer("node", 1))  # seeds, data, lr: together
    assert trainer_key(base) == trainer_key(_trainer("node", 0, T=2.0))  # T is in the weights
    assert trainer_key(base) != trainer_key(_trainer("node", 0, width=16))  # padding: not exact
    assert trainer_key(base) != trainer_key(_trainer("node", 0, steps=5))  # another time grid
    resnet = _trainer("resnet", 0)
    assert trainer_key(resnet) != trainer_key(_trainer("resnet", 0, layers=7))
    assert trainer_key(resnet, exact=False) == trainer_key(
        _trainer("resnet", 0, layers=7), exact=False
    )
    assert trainer_key(base, exact=False) == trainer_key(_trainer("node", 0, width=7), exact=False)
    assert trainer_key(base, exact=False) != trainer_key(_trainer("node", 0, width=17), exact=False)
    adaptive = _trainer("node", 0, solver="dopri5")
    assert trainer_key(adaptive) != trainer_key(_trainer("node", 0, solver="dopri5"))  # alone


@pytest.mark.parametrize("family", FAMILIES)
def test_depths_share_a_stack_and_each_gets_its_lone_numbers(family: str) -> None:
    """T is folded into each model's weights (a solve in s = t / T; dt = T / L per model), so
    a stack of four depths gives each exactly the numbers it gets alone."""
    depths = (0.5, 1.0, 2.0, 3.5)
    crowd = [_trainer(family, i, T=T) for i, T in enumerate(depths)]
    alone = [_trainer(family, i, T=T) for i, T in enumerate(depths)]
    assert len({trainer_key(t) for t in crowd}) == 1
    for _ in range(4):
        step_together(crowd)
        for trainer in alone:
            step_together([trainer])
    for a, b in zip(crowd, alone, strict=True):
        assert [r.loss for r in a.history] == [r.loss for r in b.history]
        assert all(torch.equal(x, y) for x, y in zip(_weights(a), _weights(b), strict=True))
