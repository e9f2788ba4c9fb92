"""The Playground's data-set picker: every data set drawn small, the current one highlighted.

Each thumbnail is an SVG of points from the data set's own generator (``make_dataset``, with
the session's noise and number of classes, seed 0), drawn as one path per class whose
zero-length segments with round caps are the dots: a few kB for all six, no Plotly. They depend
only on (noise, classes), so the server draws them once (``ui.shared_cache``). The row is a
small component (``ui/thumbnails.js``) of real buttons: a click (or Enter / Space) chooses the
data set as the sidebar's selector does (``want``: same reset rules, same link update).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import streamlit as st

from deqnet.datasets import DATASETS, make_dataset, n_classes_range
from deqnet.figures.style import (
    TARGET_LEVELS,
    band_color,
    class_color,
    output_range,
    target_bands,
)
from ui.controls import task_datasets
from ui.shared_cache import shared_cache
from ui.state import Session, drop_custom_data, uses_own_data, want

POINTS = 120  # per thumbnail: enough to read the shape, few enough to stay small
HALF_WIDTH = 2.2  # the drawn box [-2.2, 2.2]^2 in data units holds every clean data set
VIEW = 100  # SVG user units across
DOT = 5.5  # dot diameter in user units

_COMPONENT = st.components.v2.component(
    "deqnet_dataset_thumbnails",
    js=(Path(__file__).with_name("thumbnails.js")).read_text(encoding="utf-8"),
)


def label(name: str) -> str:
    """What the sidebar's selector calls a data set ("moons" -> "Moons")."""
    return name.capitalize()


def _groups(data) -> list[tuple[str, np.ndarray]]:
    """(colour, mask) of each group of points drawn in one colour: the classes, or (regression)
    the targets in TARGET_LEVELS bands of the output's colour scale."""
    y = data.y_all
    if data.task != "regression":
        return [(class_color(k), y == k) for k in range(data.n_classes)]
    bands = target_bands(y, output_range(y))
    return [(band_color(k), bands == k) for k in range(TARGET_LEVELS)]


def dataset_svg(name: str, noise: float, n_classes: int) -> str:
    """SVG markup of ``POINTS`` points of data set ``name`` (seed 0) in ``[-2.2, 2.2]^2``,
    coloured by class (regression: by target); ``n_classes`` is clamped to what the data set
    supports."""
    low, high = n_classes_range(name)
    data = make_dataset(
        name, n=POINTS, noise=noise, seed=0, n_classes=min(max(n_classes, low), high)
    )
    x = data.x_all
    # Data (x1, x2) -> SVG (right, down), rounded to 0.1 user units.
    px = np.round((x[:, 0] + HALF_WIDTH) * VIEW / (2 * HALF_WIDTH), 1)
    py = np.round((HALF_WIDTH - x[:, 1]) * VIEW / (2 * HALF_WIDTH), 1)
    paths = []
    for colour, mask in _groups(data):
        dots = "".join(f"M{a:g} {b:g}h0" for a, b in zip(px[mask], py[mask], strict=True))
        paths.append(f'<path stroke="{colour}" d="{dots}"/>')
    return (
        f'<svg viewBox="0 0 {VIEW} {VIEW}" xmlns="http://www.w3.org/2000/svg" aria-hidden="true"'
        f' fill="none" stroke-width="{DOT}" stroke-linecap="round">{"".join(paths)}</svg>'
    )


def thumbnails(noise: float, n_classes: int, task: str) -> tuple[tuple[str, str, str], ...]:
    """(name, label, svg) of every data set of ``task``, drawn once per server for (noise to
    0.01, classes, task)."""
    noise = round(float(noise), 2)

    def draw() -> tuple[tuple[str, str, str], ...]:
        names = task_datasets(task)
        return tuple((name, label(name), dataset_svg(name, noise, n_classes)) for name in names)

    return shared_cache().get(("thumbnails", noise, int(n_classes), task), draw)


def pick(session: Session, name: object) -> None:
    """Choose data set ``name`` as the sidebar's selector would; from custom data (uploaded or
    drawn), back to generated data. Anything but a data set's name (the browser's words) is
    ignored."""
    if name not in DATASETS:
        return
    if not uses_own_data(session):
        want(session, "data", "name", name)  # sync() applies it, as for the sidebar's selector
        return
    drop_custom_data(session, name)


def _picked(session: Session) -> None:
    state = st.session_state.get("pg_thumbs")
    pick(session, state.get("pick") if isinstance(state, Mapping) else None)


def dataset_picker(session: Session) -> None:
    """The row of thumbnails (the caller hides it when classroom mode hides the data set)."""
    run = session.run
    current = None if uses_own_data(session) else run.data.name
    items = [
        {"name": name, "label": text, "svg": svg}
        for name, text, svg in thumbnails(run.data.noise, run.data.n_classes, run.data.task)
    ]
    _COMPONENT(
        key="pg_thumbs",
        data={"items": items, "current": current},
        height="content",
        on_pick_change=lambda: _picked(session),
    )
