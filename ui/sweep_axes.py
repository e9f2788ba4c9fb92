"""The Sweep page's axis pickers: which settings it offers, their labels, and their value widgets.

What each setting's values are (numbers of a kind, or a tuple of choices) and which values a new
sweep starts from come from ``deqnet.sweep.GRID_AXES``; only the words live here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from deqnet.sweep import GRID_AXES, SWEEP_CAPS, GridAxis

SAVED = "sweep_saved"  # picker values kept across page switches (widget state is not)


@dataclass(frozen=True)
class Axis:
    """A setting the page can sweep: picker label, short name for titles, help, and its kind.

    ``grid.kind`` is float or int (comma-separated text) or a tuple of choices (multiselect).
    """

    label: str
    short: str
    help: str
    grid: GridAxis


# The settings the page offers, in picker order: (label, short name, help).
_WORDS: dict[str, tuple[str, str, str]] = {
    "lr": ("Learning rate", "lr", "Optimiser step size."),
    "weight_decay": ("Weight decay", "wd", "L2 pull toward zero."),
    "T": ("Depth T", "T", "End time of the flow."),
    "gamma": ("Nonlinearity γ", "γ", "Strength of g(x)."),
    "seed": ("Weight seed", "seed", "Initial weights and batch order."),
    "noise": ("Data noise", "noise", "Jitter of the points."),
    "width": ("Hidden width", "width", "Neurons of the MLP field."),
    "layers": ("Layers L", "L", "Depth of a discrete network."),
    "augment": ("Extra dimensions", "aug", "Zero-padded state."),
    "solver": ("ODE solver", "solver", "Integrator."),
    "family": ("Model", "model", "Model family."),
}
AXES: dict[str, Axis] = {name: Axis(*words, GRID_AXES[name]) for name, words in _WORDS.items()}


def fmt(value: Any) -> str:
    """0.003 -> "0.003", 1.0 -> "1", 1e-05 -> "1e-05"; distinct typed values stay distinct."""
    return format(value, ".12g") if isinstance(value, float) else str(value)


def cell_name(overrides: dict[str, Any]) -> str:
    """A cell's grid values in words, e.g. "lr 0.01 · seed 1"."""
    return " · ".join(f"{AXES[n].short} {fmt(v)}" for n, v in overrides.items())


def axis_labels(grid: dict[str, Sequence[Any]]) -> tuple[list[str], list[str], str, str]:
    """Row and column value labels and titles of a grid; one axis gives one unnamed column."""
    names = list(grid)
    rows = [fmt(v) for v in grid[names[0]]]
    cols = [fmt(v) for v in grid[names[1]]] if len(names) > 1 else [""]
    col_title = AXES[names[1]].short if len(names) > 1 else ""
    return rows, cols, AXES[names[0]].short, col_title


def keep(key: str, default: Any) -> None:
    """Seed a widget's state from the saved pickers (widget state dies on other pages)."""
    if key not in st.session_state:
        st.session_state[key] = st.session_state.setdefault(SAVED, {}).get(key, default)


def save(key: str) -> None:
    """Remember a widget's value for the next visit of the page."""
    st.session_state.setdefault(SAVED, {})[key] = st.session_state[key]


def parse_values(name: str, text: str) -> tuple[list[Any], str | None]:
    """Values of a comma-separated text (numbers of the axis' kind) or why they are not valid."""
    axis, values = AXES[name], []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            number = float(item)
        except ValueError:
            return [], f"{axis.label}: “{item}” is not a number."
        if axis.grid.kind is int:
            if not number.is_integer():
                return [], f"{axis.label}: “{item}” is not a whole number."
            number = int(number)
        if number in values:
            return [], f"{axis.label}: {fmt(number)} is listed twice."
        values.append(number)
    if not values:
        return [], f"{axis.label}: enter at least one value, separated by commas."
    return values, None


# Values a lecture starts from where they differ from the engine's defaults: the ODE against the
# two discrete families it is the limit of (the paper's ODE needs its own data scale).
LECTURE_VALUES: dict[str, tuple[Any, ...]] = {"family": ("node", "resnet", "feedforward")}


def values_widget(name: str, where) -> tuple[list[Any], str | None]:
    """The value picker of one axis: a multiselect for choices, else a comma-separated text."""
    axis, key = AXES[name], f"sweep_values_{name}"
    kind, default = axis.grid.kind, LECTURE_VALUES.get(name, axis.grid.default)
    if isinstance(kind, tuple):
        keep(key, list(default))
        chosen = where.multiselect(f"{axis.label} values", kind, key=key, help=axis.help)
        save(key)
        values = [v for v in kind if v in chosen]  # always in the natural order
        return values, None if values else f"{axis.label}: choose at least one value."
    keep(key, ", ".join(fmt(v) for v in default))
    text = where.text_input(
        f"{axis.label} values",
        key=key,
        help=f"{axis.help} Up to {SWEEP_CAPS['values_per_axis']} values, separated by commas.",
    )
    save(key)
    return parse_values(name, text)
