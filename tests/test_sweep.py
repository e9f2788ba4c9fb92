"""deqnet.sweep: a batched grid must train exactly like its configs trained one by one.

The reference is always the plain ``Trainer`` on a model from ``build_model`` with the cell's
configs (weights seeded by the cell's train seed). Comparisons run in float64: the batched code
sums in a different order than a lone model (one batched matmul instead of a matmul, a mean over
an (M, N) array instead of over (N,)), so single operations differ by a few ulp (~1e-16) and a dozen
Adam steps carry that forward; measured differences stay below 1e-15. ATOL = 1e-10 leaves a wide
margin while any real mismatch (a wrong lr, seed, T, batch or gradient) shows at 1e-4 or more.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import deqnet
from deqnet.models.stack import Stack, per_model_rms_norm
from deqnet.sweep.grid import (
    GRID_AXES,
    GRID_NAMES,
    expand_grid,
    group_cells,
    unused_setting,
    validate_grid,
)

ATOL = 1e-10
STEPS = 6


@pytest.fixture(scope="module")
def data() -> deqnet.Dataset:
    return deqnet.make_dataset("moons", n=64, noise=0.1, test_fraction=0.25, seed=0)


def lone_run(cell, steps: int, data=None) -> deqnet.Trainer:
    """The cell's configs trained alone, as the Playground would (float64)."""
    model = deqnet.build_model(
        cell.spec.model_config, cell.data.n_classes, cell.spec.train_config.seed
    )
    trainer = deqnet.Trainer(model.double(), data or cell.data, cell.spec.train_config)
    trainer.step(steps)
    return trainer


def assert_same_run(cell, trainer: deqnet.Trainer, atol: float = ATOL) -> None:
    """Same status, same metrics at every step, same final weights."""
    assert cell.status == trainer.status
    assert cell.message == trainer.message
    assert len(cell.history) == len(trainer.history)
    for mine, ref in zip(cell.history, trainer.history, strict=True):
        assert mine.step == ref.step
        assert mine.loss == pytest.approx(ref.loss, abs=atol)
        assert (mine.train_acc, mine.test_acc) == (ref.train_acc, ref.test_acc)
        assert (mine.nfe_forward, mine.nfe_backward) == (ref.nfe_forward, ref.nfe_backward)
    for (name, p), q in zip(cell.model.named_parameters(), trainer.model.parameters(), strict=True):
        assert torch.allclose(p, q, rtol=0, atol=atol), name


CASES = {
    "node-rk4-lr-x-seed": (
        deqnet.ModelConfig(family="node", solver="rk4", steps=4, width=8),
        deqnet.TrainConfig(),
        {"lr": [0.01, 0.05], "seed": [0, 1]},
    ),
    "ruseckas-euler-T-x-gamma": (
        deqnet.ModelConfig(family="ruseckas", solver="euler", steps=5),
        deqnet.TrainConfig(),
        {"T": [0.5, 2.0], "gamma": [0.0, 0.5]},
    ),
    "resnet-weight-decay-minibatch-time": (
        deqnet.ModelConfig(family="resnet", layers=4, width=8, time_mode="time"),
        deqnet.TrainConfig(batch_size=16),
        {"weight_decay": [0.0, 0.1], "T": [1.0, 3.0]},
    ),
    "feedforward-sgd-piecewise-gamma": (
        deqnet.ModelConfig(family="feedforward", layers=4, time_mode="piecewise", segments=4),
        deqnet.TrainConfig(optimizer="sgd", lr=0.1, loss="mse"),
        {"gamma": [0.1, 1.0], "seed": [3, 4]},
    ),
    "node-adjoint-piecewise-T": (
        deqnet.ModelConfig(
            family="node", solver="midpoint", steps=4, width=4, time_mode="piecewise", segments=2
        ),
        deqnet.TrainConfig(grad_mode="adjoint"),
        {"T": [1.0, 2.0]},
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_batched_equals_one_by_one(data, case) -> None:
    model_config, train_config, grid = CASES[case]
    result = deqnet.sweep(data, model_config, train_config, grid, steps=STEPS, dtype=torch.float64)
    assert len(result.groups) == 1  # everything in the grid batches
    assert len(result.cells) == math.prod(len(v) for v in grid.values())
    for cell in result.cells:
        assert cell.status == "ok"
        assert_same_run(cell, lone_run(cell, STEPS))


def test_noise_axis_regenerates_data_per_cell() -> None:
    data_config = deqnet.DataConfig(name="circles", n=64, test_fraction=0.25, seed=2)
    model_config = deqnet.ModelConfig(family="node", solver="euler", steps=3, width=4)
    grid = {"noise": [0.0, 0.3], "lr": [0.01, 0.03]}
    result = deqnet.sweep(
        data_config, model_config, deqnet.TrainConfig(), grid, steps=STEPS, dtype=torch.float64
    )
    assert len(result.groups) == 1
    for cell in result.cells:
        expected = data_config.replace(noise=cell.overrides["noise"]).make()
        np.testing.assert_array_equal(cell.data.x_train, expected.x_train)
        assert cell.spec.run_config == deqnet.RunConfig(
            cell.spec.data_config, cell.spec.model_config, cell.spec.train_config
        )
        assert_same_run(cell, lone_run(cell, STEPS, expected))
    quiet, noisy = result.cell(noise=0.0, lr=0.01), result.cell(noise=0.3, lr=0.01)
    assert not np.array_equal(quiet.data.x_train, noisy.data.x_train)


def test_noise_axis_needs_a_data_config(data) -> None:
    with pytest.raises(deqnet.ConfigError, match="DataConfig"):
        deqnet.sweep(data, deqnet.ModelConfig(), deqnet.TrainConfig(), {"noise": [0.1, 0.2]})


def test_float32_matches_within_float32_rounding(data) -> None:
    # float32 rounding is 6e-8 relative; a few steps of the same computation stay within 1e-5.
    model_config, train_config, _ = CASES["node-rk4-lr-x-seed"]
    result = deqnet.sweep(data, model_config, train_config, {"lr": [0.01, 0.05]}, steps=STEPS)
    for cell in result.cells:
        model = deqnet.build_model(cell.spec.model_config, 2, cell.spec.train_config.seed)
        trainer = deqnet.Trainer(model, data, cell.spec.train_config)
        trainer.step(STEPS)
        losses = [r.loss for r in cell.history]
        assert losses == pytest.approx([r.loss for r in trainer.history], abs=1e-5)


def test_widths_of_one_band_share_a_padded_stack_and_other_bands_do_not(data) -> None:
    model_config = deqnet.ModelConfig(family="resnet", layers=3)
    grid = {"width": [8, 16, 24], "lr": [0.01, 0.04]}
    result = deqnet.sweep(
        data, model_config, deqnet.TrainConfig(), grid, steps=STEPS, dtype=torch.float64
    )
    assert [g.cells for g in result.groups] == [(0, 1, 2, 3), (4, 5)]
    for cell in result.cells:
        assert cell.model.mlp.w1.shape[1] == cell.overrides["width"]
        assert_same_run(cell, lone_run(cell, STEPS))


def test_grouping_by_family_and_solver(data) -> None:
    grid = validate_grid({"family": ["node", "ruseckas"], "solver": ["euler", "rk4"], "T": [1, 2]})
    cells = expand_grid(data, deqnet.ModelConfig(), deqnet.TrainConfig(), grid)
    groups = group_cells(cells)
    assert len(groups) == 4
    for members in groups:
        assert [cells[i].overrides["T"] for i in members] == [1, 2]


def test_diverging_cell_leaves_the_others_alone(data) -> None:
    # gamma=3 with Euler on [0, 2]: lr=1 overshoots into the unstable cubic regime within a few
    # steps and the loss becomes NaN; lr=0.01 trains normally.
    model_config = deqnet.ModelConfig(family="ruseckas", solver="euler", steps=10, T=2.0, gamma=3.0)
    train_config = deqnet.TrainConfig(grad_clip=0.0)
    grid = {"lr": [0.01, 1.0]}
    result = deqnet.sweep(data, model_config, train_config, grid, steps=8, dtype=torch.float64)
    calm, wild = result.cells
    assert calm.status == "ok" and len(calm.history) == 8
    assert wild.status == "diverged"
    assert wild.message.startswith(f"Training diverged at step {len(wild.history) + 1}")
    assert all(torch.isfinite(p).all() for p in wild.model.parameters())
    # Both follow their lone runs exactly: the NaN cell changed nothing for the other one, and
    # it stopped at the same step, with the same message and the same restored weights.
    assert_same_run(calm, lone_run(calm, 8))
    assert_same_run(wild, lone_run(wild, 8))
    assert result.metric("steps_done").tolist() == [8, len(wild.history)]
    assert result.diverged().tolist() == [False, True]


def test_solver_failure_of_one_cell_is_blamed_on_it(data) -> None:
    # With max_steps=10 dopri5 cannot integrate T=8 alone; the shared solve fails too, the
    # failing cell is found by solving each cell alone, and T=0.5 trains on by itself.
    model_config = deqnet.ModelConfig(
        family="ruseckas", solver="dopri5", max_steps=10, gamma=1.0, rtol=1e-4, atol=1e-5
    )
    grid = {"T": [0.5, 8.0]}
    result = deqnet.sweep(
        data, model_config, deqnet.TrainConfig(), grid, steps=4, dtype=torch.float64
    )
    easy, hard = result.cells
    assert hard.status == "diverged" and hard.history == []
    assert "more steps than the max-steps bound" in hard.message
    assert easy.status == "ok" and len(easy.history) == 4
    alone = lone_run(easy, 4)
    # Once alone, the easy cell's per-model norm is torchdiffeq's RMS norm: same steps.
    assert [r.loss for r in easy.history] == pytest.approx(
        [r.loss for r in alone.history], abs=1e-9
    )
    assert all(math.isnan(v) for v in hard.metrics.values())


def test_cell_model_is_standalone(data) -> None:
    model_config = deqnet.ModelConfig(family="node", solver="rk4", steps=4, width=8)
    grid = {"seed": [1], "T": [0.5, 1.5]}
    result = deqnet.sweep(
        data, model_config, deqnet.TrainConfig(), grid, steps=STEPS, dtype=torch.float64
    )
    storages = {p.untyped_storage().data_ptr() for c in result.cells for p in c.model.parameters()}
    assert len(storages) == len(result.cells) * len(list(result.cells[0].model.parameters()))
    for cell in result.cells:
        assert isinstance(cell.model, deqnet.models.REGISTRY["node"])
        assert cell.model.config == cell.spec.model_config
        # The batched final pass gives evaluate's numbers to float64 rounding.
        assert cell.metrics == pytest.approx(deqnet.evaluate(cell.model, data), rel=1e-12)
        # One more lone step measures exactly the weights the sweep ended with.
        longer = lone_run(cell, STEPS + 1)
        assert cell.metrics["train_loss"] == pytest.approx(longer.history[-1].loss, abs=ATOL)
        assert cell.metrics["test_acc"] == longer.history[-1].test_acc
        assert cell.nfe == sum(r.nfe_forward + r.nfe_backward for r in cell.history)
        assert cell.seconds == pytest.approx(result.groups[0].seconds / 2)


def test_per_model_norm_is_each_models_own_error_test() -> None:
    # Error ratios (M, N, D) of 4 models: model 2 fails its own RMS test (2 > 1), the rest pass.
    ratios = torch.zeros(4, 10, 2, dtype=torch.float64)
    ratios[0] = 0.5
    ratios[2] = 2.0
    own = [float(r.pow(2).mean().sqrt()) for r in ratios]
    assert float(per_model_rms_norm(4)(ratios)) == pytest.approx(max(own)) == pytest.approx(2.0)
    # torchdiffeq's default RMS over the whole ensemble would accept the step (1.03 < 2).
    assert float(ratios.pow(2).mean().sqrt()) < 1.1


def test_adaptive_sweep_controls_each_cells_error(data) -> None:
    """dopri5: one step controller for the group, error tested per model (documented choice).

    Each cell is solved at least about as accurately as alone (its own error test must pass at
    every shared step), the NFE reported is the shared solve's, and training curves differ from
    lone runs by about the solver tolerance, not by float rounding.
    """
    model_config = deqnet.ModelConfig(
        family="ruseckas", solver="dopri5", rtol=1e-3, atol=1e-4, gamma=1.0
    )
    x = torch.as_tensor(data.x_train, dtype=torch.float64)
    models = [
        deqnet.build_model(model_config.replace(T=T), 2, seed).double()
        for T in (0.5, 4.0)
        for seed in (0, 1)
    ]
    stack = Stack(models, leaves=False)
    with torch.no_grad():
        states = stack.flow(stack.lift(x.expand(4, -1, -1)))
        batched = states.transpose(1, 2)  # feature-major (M, D, N) -> (M, N, D)
        for m, model in enumerate(models):
            exact_cfg = model.config.replace(rtol=1e-9, atol=1e-9, max_steps=20000)
            exact = deqnet.build_model(exact_cfg, 2, 0).double()
            exact.load_state_dict(model.state_dict())
            reference = exact.flow(exact.lift(x))
            alone = (model.flow(model.lift(x)) - reference).abs().max()
            shared = (batched[m] - reference).abs().max()
            assert shared <= 1.5 * alone + model.config.atol
    grid = {"T": [0.5, 2.0]}
    result = deqnet.sweep(
        data, model_config, deqnet.TrainConfig(), grid, steps=4, dtype=torch.float64
    )
    per_step_nfe = {tuple(r.nfe_forward for r in c.history) for c in result.cells}
    assert len(per_step_nfe) == 1  # one shared solve: every cell reports its NFE
    for cell in result.cells:
        losses = [r.loss for r in cell.history]
        assert losses == pytest.approx([r.loss for r in lone_run(cell, 4).history], abs=1e-2)


def test_grid_validation(data) -> None:
    base = (data, deqnet.ModelConfig(), deqnet.TrainConfig())
    with pytest.raises(deqnet.ConfigError, match="allowed names: lr, weight_decay, T"):
        deqnet.sweep(*base, {"learning_rate": [0.1]})
    with pytest.raises(deqnet.ConfigError, match="allowed 1 to 5"):
        deqnet.sweep(*base, {"lr": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]})
    with pytest.raises(deqnet.ConfigError, match="at most 25"):
        deqnet.sweep(*base, {"lr": [1e-3, 2e-3, 3e-3, 4e-3], "seed": [0, 1, 2, 3, 4], "T": [1, 2]})
    with pytest.raises(deqnet.ConfigError, match="lr=-1"):
        deqnet.sweep(*base, {"lr": [0.01, -1]})
    with pytest.raises(deqnet.ConfigError, match="solver='rk5'.*euler"):
        deqnet.sweep(*base, {"solver": ["rk4", "rk5"]})
    with pytest.raises(deqnet.ConfigError, match="repeats"):
        deqnet.sweep(*base, {"seed": [1, 1]})
    with pytest.raises(deqnet.ConfigError, match="train_steps"):
        deqnet.sweep(*base, {"seed": [1]}, steps=0)
    with pytest.raises(deqnet.ConfigError, match="noise"):
        deqnet.sweep(
            deqnet.DataConfig(), deqnet.ModelConfig(), deqnet.TrainConfig(), {"noise": [0.1, 5.0]}
        )


def test_result_arrays_and_progress(data) -> None:
    seen: list[float] = []
    result = deqnet.sweep(
        data,
        deqnet.ModelConfig(family="feedforward", layers=2),
        deqnet.TrainConfig(),
        {"lr": [0.01, 0.02, 0.03], "gamma": [0.1, 0.2]},
        steps=3,
        progress=seen.append,
    )
    assert result.shape == (3, 2)
    acc = result.metric("test_acc")
    assert acc.shape == (3, 2)
    assert acc[2, 1] == result.cell(lr=0.03, gamma=0.2).metrics["test_acc"]
    assert result.cells[5].spec.position == (2, 1)
    assert seen[-1] == 1.0 and seen == sorted(seen)
    with pytest.raises(deqnet.ConfigError, match="test_acc"):
        result.metric("accuracy")


UNUSED_PROBES = {"gamma": (0.0, 1.0), "width": (2, 4), "layers": (2, 5), "solver": ("euler", "rk4")}


@pytest.mark.parametrize("family", deqnet.FAMILIES)
@pytest.mark.parametrize("name", UNUSED_PROBES)
def test_a_setting_is_called_unused_exactly_when_it_does_not_change_the_model(family, name):
    base = deqnet.ModelConfig(family=family)
    x = torch.linspace(-2.0, 2.0, 8).reshape(4, 2)
    with torch.no_grad():
        out = [
            deqnet.build_model(base.replace(**{name: v}), 2, seed=0)(x) for v in UNUSED_PROBES[name]
        ]
    same = out[0].shape == out[1].shape and torch.equal(out[0], out[1])
    assert (unused_setting(name, base) is not None) == same


def test_decision_grids_share_one_extent_around_every_cells_data() -> None:
    result = deqnet.sweep(
        deqnet.DataConfig(n=48, noise=0.1),
        deqnet.ModelConfig(family="resnet", layers=2),
        deqnet.TrainConfig(),
        {"noise": [0.05, 0.6]},
        steps=1,
    )
    pictures = result.decision_grids(n=6)
    points = np.concatenate([np.concatenate([c.data.x_train, c.data.x_test]) for c in result.cells])
    assert pictures.extent == deqnet.analysis.plot_extent(points)
    assert pictures.extent != deqnet.analysis.plot_extent(
        result.cells[0].data
    )  # the noisier data is wider
    for cell, grid in zip(result.cells, pictures.grids, strict=True):
        expected = deqnet.analysis.decision_grid(cell.model, pictures.extent, n=6)
        np.testing.assert_array_equal(grid.probs, expected.probs)


@pytest.mark.parametrize("name", GRID_AXES)
def test_every_sweepable_setting_has_valid_kind_and_defaults(name: str) -> None:
    axis = GRID_AXES[name]
    assert name in GRID_NAMES
    if isinstance(axis.kind, tuple):
        assert set(axis.default) <= set(axis.kind)
    else:
        assert all(type(v) is axis.kind for v in axis.default)
    base = deqnet.ModelConfig(family="resnet", time_mode="piecewise", segments=1, layers=20)
    if name in ("solver", "steps"):
        base = deqnet.ModelConfig(time_mode="piecewise", segments=1)
    cells = expand_grid(
        deqnet.DataConfig(n=16), base, deqnet.TrainConfig(), validate_grid({name: axis.default})
    )
    assert [c.overrides[name] for c in cells] == list(axis.default)
