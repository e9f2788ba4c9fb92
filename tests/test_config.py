"""deqnet.config: the cross-field repairs, and that the sidebar and the URL codec share them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deqnet.config import (
    FAMILIES,
    LIMITS,
    TIME_MODE_NAMES,
    TIME_MODES,
    ConfigError,
    ModelConfig,
    Repair,
    RunConfig,
    repair_run,
)
from deqnet.datasets import DATASETS, MAX_CLASSES, N_MIN, n_classes_range
from deqnet.sharing import FIELD_SPECS, run_from_query
from ui.state import coerce_run

# Raw values each widget allows alone, in combinations that are not valid together.
AWKWARD = [
    {"data": {"name": "moons", "n_classes": 5}},
    {"data": {"name": "gaussians", "n_classes": 5, "n": 8}},
    {"data": {"name": "spiral", "n_classes": 2, "n": 8}},
    {"data": {"name": "xor", "n_classes": 3, "n": 9}},
    {"model": {"family": "feedforward", "time_mode": "time"}},
    {"model": {"family": "ruseckas", "time_mode": "time", "segments": 150}},
    {"model": {"family": "resnet", "time_mode": "piecewise", "segments": 50, "layers": 8}},
    {"model": {"family": "feedforward", "time_mode": "piecewise", "segments": 200, "layers": 1}},
    {"model": {"family": "resnet", "time_mode": "autonomous", "segments": 50, "layers": 8}},
    {"model": {"family": "node", "time_mode": "piecewise", "segments": 50, "layers": 8}},
    {
        "data": {"name": "circles", "n_classes": 4, "n": 8},
        "model": {"family": "feedforward", "time_mode": "time", "segments": 9, "layers": 2},
        "train": {"lr": 0.5},
    },
]


def _query(values: dict[str, dict]) -> dict[str, str]:
    """The link that sets exactly ``values``."""
    out = {}
    for key, spec in FIELD_SPECS.items():
        if spec.field in values.get(spec.section, {}):
            value = values[spec.section][spec.field]
            out[key] = repr(value) if isinstance(value, float) else str(value)
    return out


@pytest.mark.parametrize("values", AWKWARD)
def test_the_sidebar_and_a_link_repair_awkward_values_alike(values):
    decoded = run_from_query(_query(values))
    assert coerce_run(values) == decoded.run
    _, repairs = repair_run(values)
    assert len(decoded.notices) == len(repairs)


valid_alone = st.fixed_dictionaries(
    {
        "data": st.fixed_dictionaries(
            {
                "name": st.sampled_from(DATASETS),
                "n_classes": st.integers(2, MAX_CLASSES),
                "n": st.integers(N_MIN, 40),
            }
        ),
        "model": st.fixed_dictionaries(
            {
                "family": st.sampled_from(FAMILIES),
                "time_mode": st.sampled_from(TIME_MODE_NAMES),
                "segments": st.integers(*LIMITS["segments"]),
                "layers": st.integers(*LIMITS["layers"]),
            }
        ),
    }
)


@settings(max_examples=150, deadline=None)
@given(valid_alone)
def test_any_widget_values_give_the_same_run_in_the_sidebar_and_in_a_link(values):
    assert coerce_run(values) == run_from_query(_query(values)).run


def test_repairs_name_the_field_and_say_why():
    values = {
        "data": {"name": "gaussians", "n_classes": 9, "n": 8},
        "model": {"family": "resnet", "time_mode": "time", "segments": 12, "layers": 3},
    }
    fixed, repairs = repair_run(values)
    assert fixed["data"]["n_classes"] == MAX_CLASSES
    assert fixed["data"]["n"] == 2 * MAX_CLASSES
    assert fixed["model"]["time_mode"] == "time"  # resnet has it: nothing to repair
    assert fixed["model"]["segments"] == 12  # not piecewise: K is unused and kept
    assert [(r.section, r.field) for r in repairs] == [("data", "n_classes"), ("data", "n")]
    assert repairs[0] == Repair(
        "data", "n_classes", "gaussians has 2 to 5 classes, not 9; using 5."
    )
    assert values["data"]["n_classes"] == 9  # the input is not modified


def test_a_missing_time_mode_falls_back_to_the_base_then_to_the_familys_first():
    piecewise = RunConfig(model=ModelConfig(family="node", time_mode="piecewise"))
    timed = RunConfig(model=ModelConfig(family="node", time_mode="time"))
    values = {"model": {"family": "ruseckas", "time_mode": "time"}}
    assert repair_run(values, base=piecewise)[0]["model"]["time_mode"] == "piecewise"
    assert repair_run(values, base=timed)[0]["model"]["time_mode"] == TIME_MODES["ruseckas"][0]


def test_missing_fields_come_from_the_base_and_the_result_builds():
    fixed, repairs = repair_run({})
    assert repairs == [] and RunConfig.from_dict(fixed) == RunConfig()
    lo, hi = n_classes_range("spiral")
    fixed, _ = repair_run({"data": {"name": "spiral", "n_classes": hi + 1}})
    assert fixed["data"]["n_classes"] == hi and fixed["model"] == ModelConfig().to_dict()


def test_values_the_rules_cannot_judge_are_left_to_validation():
    fixed, repairs = repair_run({"model": {"family": "lstm"}, "extra": {}})
    assert repairs == [] and fixed["extra"] == {}
    with pytest.raises(ConfigError):
        RunConfig.from_dict(fixed)


def test_model_dt_is_the_layer_step_or_the_fixed_solver_step():
    assert ModelConfig(family="resnet", T=2.0, layers=8).dt == 0.25
    assert ModelConfig(family="node", T=1.0, solver="rk4", steps=10).dt == pytest.approx(0.1)
    # Piecewise: each of the K segments takes ceil(steps / K) steps.
    piecewise = ModelConfig(family="node", T=1.0, steps=10, time_mode="piecewise", segments=4)
    assert piecewise.steps_per_segment == 3
    assert piecewise.dt == pytest.approx(1.0 / 12)
    assert ModelConfig(family="node", solver="dopri5").dt is None
