"""Lesson presets and lesson texts: valid runs, shareable links, every equation explained, and
every preset trains without diverging."""

from __future__ import annotations

import math
import re

import pytest

import deqnet
from deqnet import RunConfig, Trainer, build_model
from deqnet.presets import (
    LESSON_DIR,
    LESSONS,
    PAGES,
    PRESETS,
    Preset,
    lesson_presets,
    load_lesson,
    parse_lesson,
    preset_query,
)
from deqnet.sharing import run_from_query, run_to_query

PAPER_LABELS = {f"M{i}" for i in range(1, 9)} | {f"P{i}" for i in range(1, 5)}
ALL_LESSONS = [load_lesson(name) for name in LESSONS]
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


def test_preset_rejects_an_unknown_page() -> None:
    with pytest.raises(ValueError, match="page"):
        Preset("x", "X", ("M1",), "nowhere", RunConfig(), "Why.", "Look.")


def test_lesson_files_are_exactly_the_listed_lessons() -> None:
    assert {path.stem for path in LESSON_DIR.glob("*.md")} == set(LESSONS)


@pytest.mark.parametrize("lesson", ALL_LESSONS, ids=LESSONS)
def test_lesson_has_equations_explanation_and_presets(lesson) -> None:
    assert lesson.title
    assert lesson.equations
    prose = "\n".join(text for kind, text in lesson.blocks if kind == "markdown")
    assert "What you'll see" in prose
    assert "$" not in prose  # Streamlit markdown would read $...$ as inline LaTeX
    assert lesson_presets(lesson), f"lesson {lesson.name} has no preset"


def test_every_paper_equation_is_rendered_in_a_lesson() -> None:
    labels = set().union(*(lesson.labels for lesson in ALL_LESSONS))
    assert PAPER_LABELS <= labels


def test_every_preset_equation_is_explained_and_each_preset_is_listed_once() -> None:
    labels = set().union(*(lesson.labels for lesson in ALL_LESSONS))
    for preset in PRESETS.values():
        assert set(preset.equations) <= labels, preset.name
    listed = [p.name for lesson in ALL_LESSONS for p in lesson_presets(lesson)]
    assert sorted(listed) == sorted(PRESETS)


def test_parse_lesson_splits_latex_fences_and_collects_tags() -> None:
    text = (
        "# Title\n\nIntro text.\n\n```latex\na = b \\tag{X1}\n```\n\nMiddle.\n\n"
        "```latex\nc = d\n```\n\n**What you'll see:** end.\n"
    )
    lesson = parse_lesson("demo", text)
    assert lesson.title == "Title"
    assert lesson.blocks == (
        ("markdown", "Intro text."),
        ("latex", "a = b \\qquad\\text{(X1)}"),
        ("markdown", "Middle."),
        ("latex", "c = d"),
        ("markdown", "**What you'll see:** end."),
    )
    assert lesson.labels == {"demo", "X1"}
    with pytest.raises(ValueError, match="title"):
        parse_lesson("demo", "no title\n")


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
