"""Lesson presets: valid runs on existing pages, shareable links, and every preset trains
without diverging. (The lesson texts that list them: test_lessons.py.)"""

from __future__ import annotations

import math
import re

import pytest

import deqnet
from deqnet import RunConfig, Trainer, build_model
from deqnet.presets import PRESETS, Preset, check_preset_pages, preset_query
from deqnet.sharing import run_from_query, run_to_query
from ui.pages import PAGES

# Several presets share one run (shown on different pages); train each distinct run once.
DISTINCT_RUNS = {preset.run: name for name, preset in reversed(PRESETS.items())}


def test_presets_are_exported_and_named_by_their_key() -> None:
    assert deqnet.PRESETS is PRESETS and deqnet.Preset is Preset
    assert len(PRESETS) >= 7
    for name, preset in PRESETS.items():
        assert preset.name == name
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name), name


@pytest.mark.parametrize("name", PRESETS)
def test_preset_is_complete_and_its_run_is_valid(name: str) -> None:
    preset = PRESETS[name]
    assert preset.page in PAGES
    assert preset.equations and preset.equation == preset.equations[0]
    assert preset.title and "\n" not in preset.title
    assert preset.explanation and "\n" not in preset.explanation  # one paragraph
    assert preset.what_to_look_at.endswith(".")
    # Rebuilding through the validating constructors gives the same run back.
    assert RunConfig.from_dict(preset.run.to_dict()) == preset.run


@pytest.mark.parametrize("name", PRESETS)
def test_preset_round_trips_through_a_link(name: str) -> None:
    run = PRESETS[name].run
    plain = run_from_query(run_to_query(run))
    assert plain.run == run and plain.notices == []
    presets = {key: preset.run for key, preset in PRESETS.items()}
    query = preset_query(name)
    assert query["preset"] == name
    shared = run_from_query(query, presets=presets)
    assert shared.run == run and shared.view["preset"] == name and shared.notices == []
    # The bare ?preset=<name> link restores the same run from the preset alone.
    assert run_from_query({"preset": name}, presets=presets).run == run


def test_preset_pages_are_checked_against_the_pages_given() -> None:
    check_preset_pages(PAGES)
    without_momentum = [stem for stem in PAGES if stem != "momentum"]
    with pytest.raises(ValueError, match="backprop-hamiltonian -> 'momentum'"):
        check_preset_pages(without_momentum)


@pytest.mark.parametrize("name", sorted(DISTINCT_RUNS.values()))
def test_preset_trains_30_steps_without_diverging(name: str) -> None:
    run = PRESETS[name].run
    data = run.data.make()
    trainer = Trainer(build_model(run.model, data.n_classes, seed=run.train.seed), data, run.train)
    trainer.step(30)
    assert trainer.status == "ok", trainer.message
    losses = [record.loss for record in trainer.history]
    assert len(losses) == 30 and all(math.isfinite(loss) for loss in losses)
    assert losses[-1] < losses[0]
