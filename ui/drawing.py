"""Points drawn on the Playground's boundary chart: the browser's edits, checked and applied.

The live panel (``ui/live_panel.js``) numbers every edit (add a point of class c at (x1, x2),
remove the point at (x1, x2), clear) and sends the ones this page has not applied yet as its
"draw" state, again with each new edit: a page run cut short or merged with the next loses no
click. What the browser sends is checked like a link: at most ``MAX_EDITS`` edits a message,
numbered above the last one applied, finite coordinates within ``±COORD_LIMIT``, a class of the
drawing's, at most ``MAX_DRAWN_POINTS`` points in all; anything else is ignored.

The first edit turns the points the chart shows (the data's train and test points, on the 0.01
grid) into the drawing. Once it has enough points (``drawn_problem``), the drawing, split by the
data seed, is the session's data for every page, like an upload (``Session.custom_data``), and
each change resets the model, as any data change does; training that was running goes on from
the new initial weights. Until then the chart shows the drawing and Train waits for it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from deqnet.datasets import N_MAX, Dataset, drawn_dataset, drawn_problem
from deqnet.figures.style import class_color
from deqnet.sharing import MAX_LINK_POINTS, DrawnPoints, on_grid
from deqnet.sharing.points import COORD_LIMIT
from ui.budget import memory_problem
from ui.live_trainer import live_trainer
from ui.state import Drawing, Session, coerce_run, rebuild

MAX_EDITS = 64  # edits in one message from the browser
MAX_DRAWN_POINTS = N_MAX
HIT_RADIUS = 0.05  # data units: the browser sends the coordinates of the point it removes
RESET_TEXT = "The data changed, so the model was reset to its initial weights"


def _from_data(session: Session) -> DrawnPoints:
    """The session's data (train and test points) as a drawing's points."""
    data, keep = session.data, slice(0, MAX_DRAWN_POINTS)
    return DrawnPoints(on_grid(data.x_all[keep]), data.y_all[keep], data.n_classes)


def drawing_problem(session: Session) -> str | None:
    """Why the drawing cannot be trained on yet (Train waits), or None (also: no drawing)."""
    drawing = session.drawing
    if drawing is None:
        return None
    return drawn_problem(drawing.points.y, drawing.points.n_classes)


def chart_data(session: Session, show_test: bool) -> tuple[Dataset, bool]:
    """The points the boundary chart shows and whether test points are among them: drawn
    points all of them (a new point may have gone to the test split), a drawing too small to
    train all of them as they are."""
    drawing = session.drawing
    if drawing is None:
        return session.data, show_test
    if drawing_problem(session) is None:
        return session.data, True
    points = drawing.points
    empty = np.zeros((0, 2), np.float32)
    data = Dataset(points.x, points.y, empty, np.zeros(0, np.int64), points.n_classes, "drawn")
    return data, False


def _real(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _edit(raw: object, n_classes: int) -> tuple[str, float, float, int] | None:
    """One browser edit as (kind, x1, x2, class), or None if it is not a valid one."""
    if not isinstance(raw, Mapping):
        return None
    kind = raw.get("op")
    if kind == "clear":
        return ("clear", 0.0, 0.0, 0)
    x, y, c = raw.get("x"), raw.get("y"), raw.get("c", 0)
    if kind not in ("add", "remove") or not (_real(x) and _real(y)):
        return None
    if abs(x) > COORD_LIMIT or abs(y) > COORD_LIMIT:
        return None
    if not isinstance(c, int) or isinstance(c, bool) or not 0 <= c < n_classes:
        return None
    return (kind, float(x), float(y), c)


def _numbered(payload: object, applied: int) -> list[tuple[int, object]]:
    """The payload's edits numbered above ``applied``, as (number, edit) in order ([] if the
    payload is bad)."""
    edits = payload.get("ops") if isinstance(payload, Mapping) else None
    if not isinstance(edits, list) or len(edits) > MAX_EDITS:
        return []
    numbered: dict[int, object] = {}
    for raw in edits:
        number = raw.get("id") if isinstance(raw, Mapping) else None
        if isinstance(number, int) and not isinstance(number, bool) and number > applied:
            numbered.setdefault(number, raw)  # a number names one edit: the first one given
    return sorted(numbered.items(), key=lambda pair: pair[0])


def _change(points: DrawnPoints, edit: tuple[str, float, float, int]) -> DrawnPoints | None:
    """``points`` after one edit, or None if it changes nothing."""
    kind, x1, x2, c = edit
    if kind == "clear":
        empty = np.zeros((0, 2), np.float32)
        return DrawnPoints(empty, np.zeros(0, np.int64), points.n_classes) if len(points) else None
    if kind == "add":
        if len(points) >= MAX_DRAWN_POINTS:
            return None
        x = np.concatenate([points.x, on_grid([x1, x2])])
        return DrawnPoints(x, np.append(points.y, np.int64(c)), points.n_classes)
    if not len(points):
        return None
    distance = np.hypot(points.x[:, 0] - x1, points.x[:, 1] - x2)
    nearest = int(np.argmin(distance))
    if distance[nearest] > HIT_RADIUS:
        return None
    keep = np.arange(len(points)) != nearest
    return DrawnPoints(points.x[keep], points.y[keep], points.n_classes)


def apply_edits(session: Session, payload: object) -> None:
    """Apply the browser's new edits (see the module docstring); a changed drawing becomes the
    session's data when it can be trained on."""
    drawing = session.drawing
    numbered = _numbered(payload, drawing.applied if drawing else 0)
    if not numbered:
        return
    points = drawing.points if drawing else _from_data(session)
    changed = 0
    for _, raw in numbered:
        edit = _edit(raw, points.n_classes)
        after = _change(points, edit) if edit else None
        if after is not None:
            points, changed = after, changed + 1
    if drawing is None:
        if not changed:  # nothing valid: no drawing begun
            return
        drawing = session.drawing = Drawing(points)
    drawing.applied = numbered[-1][0]
    if changed:
        drawing.points = points
        use_drawing(session)


def use_drawing(session: Session) -> None:
    """Make the drawing the session's data if it can be trained on (resetting the model, and
    training on if it was), else stop training until it can; say what happened."""
    drawing = session.drawing
    if drawing_problem(session):
        session.live.running = False  # the panel says why (``panel_data``)
        return
    run = coerce_run(session.wanted)
    points = drawing.points
    session.custom_data = drawn_dataset(
        points.x,
        points.y,
        points.n_classes,
        test_fraction=run.data.test_fraction,
        seed=run.data.seed,
    )
    training = session.live.running
    rebuild(session, run)
    drawing.message = f"{RESET_TEXT}."
    if training:
        problem = memory_problem(session)
        if problem:
            drawing.message = f"{RESET_TEXT}. {problem}"
        else:
            drawing.message = f"{RESET_TEXT}; training goes on."
            session.live.running = True
            live_trainer().wake()


def open_drawing(session: Session, points: DrawnPoints) -> None:
    """A link's drawn points: the session's drawing (and data, if they can be trained on)."""
    session.drawing = Drawing(points)
    use_drawing(session)
    session.drawing.message = ""


def fits_link(session: Session) -> bool:
    """Whether the link can carry the session's drawing (there is one and it is small enough)."""
    return session.drawing is not None and len(session.drawing.points) <= MAX_LINK_POINTS


def describe(session: Session) -> str:
    """The drawing in a few words: "515 points: 360 train + 155 test"."""
    drawing = session.drawing
    if drawing is None:
        return ""
    n = len(drawing.points)
    data = session.custom_data
    if drawing_problem(session) is None and data is not None:
        return f"{n} points: {data.n_train} train + {data.n_test} test"
    return f"{n} point{'s' if n != 1 else ''}"


def panel_data(session: Session) -> dict[str, Any]:
    """What the live panel's drawing tools need: the classes (label, colour), the last edit
    applied, the drawing in words and why it cannot be trained on yet or (once, as a note is)
    what the last edits did."""
    drawing = session.drawing
    n_classes = drawing.points.n_classes if drawing else session.data.n_classes
    message = ""
    if drawing is not None:
        message = drawing_problem(session) or drawing.message
        drawing.message = ""
    if drawing is not None and not fits_link(session):
        message += (
            f" A link carries at most {MAX_LINK_POINTS} drawn points: download them as CSV "
            "(Share, download and upload) to share them."
        )
    return {
        "classes": [[f"class {k}", class_color(k)] for k in range(n_classes)],
        "applied": drawing.applied if drawing else 0,
        "count": describe(session),
        "message": message.strip(),
    }
