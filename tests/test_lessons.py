"""Lesson texts: exactly the listed files, every paper equation rendered and explained, each
preset listed under exactly one lesson, and the parser's blocks and labels."""

from __future__ import annotations

import pytest

from deqnet.presets import PRESETS
from ui.lessons import (
    LESSON_DIR,
    LESSONS,
    TOURS,
    lesson_presets,
    lesson_tours,
    load_lesson,
    parse_lesson,
)
from ui.pages import PAGES

PAPER_LABELS = {f"M{i}" for i in range(1, 9)} | {f"P{i}" for i in range(1, 5)}
ALL_LESSONS = [load_lesson(name) for name in LESSONS]


def test_lesson_files_are_exactly_the_listed_lessons() -> None:
    assert {path.stem for path in LESSON_DIR.glob("*.md")} == set(LESSONS)


@pytest.mark.parametrize("lesson", ALL_LESSONS, ids=LESSONS)
def test_lesson_has_equations_explanation_and_presets(lesson) -> None:
    assert lesson.title
    assert lesson.equations
    prose = "\n".join(text for kind, text in lesson.blocks if kind == "markdown")
    assert "What you'll see" in prose
    assert "$" not in prose  # Streamlit markdown would read $...$ as inline LaTeX
    assert lesson_presets(lesson) or lesson_tours(lesson), f"lesson {lesson.name} has no demo"


def test_every_paper_equation_is_rendered_in_a_lesson() -> None:
    labels = set().union(*(lesson.labels for lesson in ALL_LESSONS))
    assert PAPER_LABELS <= labels


def test_every_preset_equation_is_explained_and_each_preset_is_listed_once() -> None:
    labels = set().union(*(lesson.labels for lesson in ALL_LESSONS))
    for preset in PRESETS.values():
        assert set(preset.equations) <= labels, preset.name
    listed = [p.name for lesson in ALL_LESSONS for p in lesson_presets(lesson)]
    assert sorted(listed) == sorted(PRESETS)


def test_every_tour_opens_a_registered_page_and_is_listed_once() -> None:
    for tour in TOURS.values():
        assert tour.page in PAGES, tour.name
        assert tour.what_to_look_at.endswith("."), tour.name
    listed = [t.name for lesson in ALL_LESSONS for t in lesson_tours(lesson)]
    assert sorted(listed) == sorted(TOURS)


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
