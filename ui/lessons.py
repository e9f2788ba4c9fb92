"""Lesson texts: the paper's equations explained, one markdown file per equation group.

The texts live in ``assets/lessons/<name>.md`` (see ``LESSONS``); :func:`load_lesson` splits one
into markdown and ``latex`` blocks for ``st.markdown`` and ``st.latex``. A lesson covers its own
name and every ``\\tag{...}`` label in its equations, so a preset's ``equations``
(``deqnet.presets``) resolve to lessons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from deqnet.presets import PRESETS, Preset

LESSON_DIR = Path(__file__).resolve().parents[1] / "assets" / "lessons"

# Lesson files in reading order (file stem = lesson name): the paper's sections 1-6, then the
# slides' image example and the information argument (section 3, consequence 5).
LESSONS = ("M1", "M2-M4", "M5-M8", "P1-P2", "P3-P4", "topology", "digits", "information")


@dataclass(frozen=True)
class Lesson:
    """One lesson text.

    Attributes:
        name: file stem, e.g. "M2-M4".
        title: the text of the file's ``# `` heading.
        blocks: in order, ("markdown", text) and ("latex", equation) pairs.
        labels: the lesson's name and every ``\\tag{...}`` label of its equations.
    """

    name: str
    title: str
    blocks: tuple[tuple[str, str], ...]
    labels: frozenset[str]

    @property
    def equations(self) -> tuple[str, ...]:
        return tuple(text for kind, text in self.blocks if kind == "latex")


_LATEX_BLOCK = re.compile(r"^```latex[ \t]*\n(.*?)\n```[ \t]*$", re.DOTALL | re.MULTILINE)
_TAG = re.compile(r"\\tag\{([^}]*)\}")
# How a label is drawn: KaTeX right-aligns \tag against the full page width, which makes it
# overlap the equation inside Streamlit's content-width latex element; a trailing "(M1)" is clear.
_LABEL = r"\\qquad\\text{(\1)}"  # a re.sub template: backslashes doubled


def parse_lesson(name: str, text: str) -> Lesson:
    """Split lesson markdown into blocks: ```latex fences become equations, the rest markdown.

    The first line must be ``# <title>``. Each ``\\tag{X}`` in an equation labels the lesson with
    X and is drawn as a trailing "(X)".
    """
    head, _, body = text.partition("\n")
    if not head.startswith("# "):
        raise ValueError(f"lesson {name!r} must start with a '# ' title line")
    blocks: list[tuple[str, str]] = []
    labels = {name}
    position = 0
    for match in _LATEX_BLOCK.finditer(body):
        equation = match.group(1).strip()
        labels.update(_TAG.findall(equation))
        blocks.append(("markdown", body[position : match.start()]))
        blocks.append(("latex", _TAG.sub(_LABEL, equation)))
        position = match.end()
    blocks.append(("markdown", body[position:]))
    kept = tuple((kind, part.strip()) for kind, part in blocks if part.strip())
    return Lesson(name, head[2:].strip(), kept, frozenset(labels))


def load_lesson(name: str) -> Lesson:
    """The lesson ``assets/lessons/<name>.md``."""
    return parse_lesson(name, (LESSON_DIR / f"{name}.md").read_text(encoding="utf-8"))


def lesson_presets(lesson: Lesson) -> list[Preset]:
    """Presets listed under ``lesson``: those whose main equation it covers."""
    return [preset for preset in PRESETS.values() if preset.equation in lesson.labels]


@dataclass(frozen=True)
class Tour:
    """A lesson's demonstration that needs no 2-D run: "Show me" opens its page as it is (the
    Digits page trains its own image model, so loading a sidebar run would only lose the
    user's settings).

    Attributes mean what they mean on ``deqnet.presets.Preset``; ``page`` is a page stem.
    """

    name: str
    title: str
    equation: str
    page: str
    explanation: str
    what_to_look_at: str


TOURS: dict[str, Tour] = {
    tour.name: tour
    for tour in (
        Tour(
            name="digits-conv-ode",
            title="A convolutional network on digits is an ODE",
            equation="C1",
            page="digits",
            explanation=(
                "A plain convolutional network whose 3×3 kernels start at the identity kernel "
                "learns to read handwritten digits in a few seconds. Every layer changes the "
                "images only a little, so the layers sit on the solution of the ODE with the "
                "convolution in place of the matrix."
            ),
            what_to_look_at=(
                "Press Train, pick a digit: its activation maps change gradually from layer to "
                "layer, the ODE's maps below them look the same, and the momentum flows back to "
                "a saliency map of the digit."
            ),
        ),
    )
}


def lesson_tours(lesson: Lesson) -> list[Tour]:
    """Tours listed under ``lesson``: those whose equation it covers."""
    return [tour for tour in TOURS.values() if tour.equation in lesson.labels]


__all__ = [
    "LESSONS",
    "LESSON_DIR",
    "TOURS",
    "Lesson",
    "Tour",
    "lesson_presets",
    "lesson_tours",
    "load_lesson",
    "parse_lesson",
]
