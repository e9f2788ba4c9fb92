"""``step_together``: many Trainers, one batched step, and nobody's numbers depend on the others.

The oracle for "does not depend on who else trains" is the same trainer stepped alone through the
same engine (a stack of one): its records and weights must be equal bit for bit. The oracle for
"is the Trainer's step" is ``Trainer.step`` itself, in float64, to rounding.
"""

from __future__ import annotations

import pytest
import torch

import deqnet
from deqnet.sweep import class_key, step_together

FAMILIES = ("node", "ruseckas", "resnet", "feedforward")


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
    assert len({class_key(t) for t in [*crowd, alone]}) == 1
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


@pytest.mark.parametrize("family", FAMILIES)
def test_a_shared_step_is_the_trainers_step(family: str, float64) -> None:
    """float64: the stacked computation equals Trainer.step (F.linear vs bmm) to rounding."""
    shared = [_trainer(family, i, dtype=float64) for i in range(3)]
    lone = [_trainer(family, i, dtype=float64) for i in range(3)]
    for _ in range(5):
        step_together(shared)
    for trainer in lone:
        trainer.step(5)
    for a, b in zip(shared, lone, strict=True):
        for ra, rb in zip(a.history, b.history, strict=True):
            assert ra.step == rb.step and ra.nfe_forward == rb.nfe_forward
            assert ra.loss == pytest.approx(rb.loss, rel=1e-12, abs=1e-13)
            assert (ra.train_acc, ra.test_acc) == (rb.train_acc, rb.test_acc)
        for wa, wb in zip(_weights(a), _weights(b), strict=True):
            torch.testing.assert_close(wa, wb, rtol=1e-10, atol=1e-12)


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
    assert class_key(base) == class_key(_trainer("node", 1))  # seeds, data, lr: together
    assert class_key(base) != class_key(_trainer("node", 0, T=2.0))  # rescaled time: apart
    assert class_key(base) != class_key(_trainer("node", 0, width=16))  # other shapes: apart
    adaptive = _trainer("node", 0, solver="dopri5")
    assert class_key(adaptive) != class_key(_trainer("node", 0, solver="dopri5"))  # alone
