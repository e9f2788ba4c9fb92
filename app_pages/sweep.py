"""Sweep: train every combination of two settings at once and compare the cells side by side."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from deqnet import (
    ConfigError,
    DatasetError,
    DecisionGrid,
    RunConfig,
    SolverFailure,
    SweepResult,
    decision_grid,
    plot_extent,
    sweep,
)
from deqnet.config import FAMILIES, SOLVERS, STEP_MEMORY_LIMIT, step_memory
from deqnet.figures.sweep import METRICS, sweep_boundaries_figure, sweep_heatmaps_figure
from deqnet.sweep import SWEEP_CAPS
from deqnet.sweep.grid import CellSpec, expand_grid, group_cells, unused_setting, validate_grid
from ui.show import PLOTLY_CONFIG, chart, error, notice
from ui.slots import training_slot
from ui.state import Session, apply_run, current_run, get_session, rebuild

GRID_POINTS = 40  # decision-grid resolution per cell (40 x 40 model evaluations)
STEP_OPTIONS = (10, 25, 50, 100, 200, 300, 500)
DEFAULT_STEPS = 100
MAX_SECONDS = 120.0  # a sweep projected to take longer is stopped (wall time, shared server)
PROJECT_AFTER = 3.0  # seconds of training before the projection is trusted
UPDATE_SECONDS = 0.25  # progress-bar refresh interval (each refresh is also a Stop point)
SLOT_WAIT = 5.0  # seconds to wait for one of the server's training slots
NONE = ""  # "no second axis"
SAVED = "sweep_saved"  # picker values kept across page switches (widget state is not)
STORE = "sweep_store"  # the last sweep and its pictures


@dataclass(frozen=True)
class Axis:
    """A setting the page can sweep: picker label, short name for titles, value kind, defaults.

    ``kind`` is float or int (comma-separated text) or a tuple of choices (multiselect).
    """

    label: str
    short: str
    kind: Any
    default: tuple
    help: str


AXES: dict[str, Axis] = {
    "lr": Axis("Learning rate", "lr", float, (0.003, 0.01, 0.03, 0.1), "Optimiser step size."),
    "weight_decay": Axis(
        "Weight decay", "wd", float, (0.0, 1e-4, 1e-3, 1e-2), "L2 pull toward zero."
    ),
    "T": Axis("Depth T", "T", float, (0.5, 1.0, 2.0, 4.0), "End time of the flow."),
    "gamma": Axis("Nonlinearity γ", "γ", float, (0.0, 0.1, 0.5, 1.0), "Strength of g(x)."),
    "seed": Axis("Weight seed", "seed", int, (0, 1, 2, 3), "Initial weights and batch order."),
    "noise": Axis("Data noise", "noise", float, (0.05, 0.1, 0.2, 0.3), "Jitter of the points."),
    "width": Axis("Hidden width", "width", int, (4, 8, 16, 32), "Neurons of the MLP field."),
    "layers": Axis("Layers L", "L", int, (2, 5, 10, 20), "Depth of a discrete network."),
    "augment": Axis("Extra dimensions", "aug", (0, 1, 2, 3), (0, 1, 2), "Zero-padded state."),
    "solver": Axis("ODE solver", "solver", SOLVERS, ("euler", "rk4", "dopri5"), "Integrator."),
    "family": Axis("Model", "model", FAMILIES, FAMILIES, "Model family."),
}


@dataclass(frozen=True)
class Setup:
    """What the pickers ask for: grid (name -> values), steps per cell, the problems found."""

    grid: dict[str, list[Any]]
    steps: int
    problems: list[str]
    warnings: list[str]
    groups: int


@dataclass(frozen=True, eq=False)
class Stored:
    """A finished sweep with what its pictures need (kept in the session across pages)."""

    key: tuple
    result: SweepResult
    grids: list[DecisionGrid | None]
    extent: tuple[float, float, float, float]
    # The small multiples for the last outlined cell: rebuilding 16 panels takes ~0.3 s.
    drawn: dict[int, go.Figure] = field(default_factory=dict)


class _TooLong(Exception):
    def __init__(self, projected: float) -> None:
        super().__init__(f"{projected:.0f} s")
        self.projected = projected


def _fmt(value: Any) -> str:
    """0.003 -> "0.003", 1.0 -> "1", 1e-05 -> "1e-05"; distinct typed values stay distinct."""
    return format(value, ".12g") if isinstance(value, float) else str(value)


def _keep(key: str, default: Any) -> None:
    """Seed a widget's state from the saved pickers (widget state dies on other pages)."""
    if key not in st.session_state:
        st.session_state[key] = st.session_state.setdefault(SAVED, {}).get(key, default)


def _save(key: str) -> None:
    st.session_state.setdefault(SAVED, {})[key] = st.session_state[key]


def _parse(name: str, text: str) -> tuple[list[Any], str | None]:
    """Values of a comma-separated text (numbers of the axis' kind) or why they are not valid."""
    axis, values = AXES[name], []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            number = float(item)
        except ValueError:
            return [], f"{axis.label}: “{item}” is not a number."
        if axis.kind is int:
            if not number.is_integer():
                return [], f"{axis.label}: “{item}” is not a whole number."
            number = int(number)
        if number in values:
            return [], f"{axis.label}: {_fmt(number)} is listed twice."
        values.append(number)
    if not values:
        return [], f"{axis.label}: enter at least one value, separated by commas."
    return values, None


def _values_widget(name: str, where) -> tuple[list[Any], str | None]:
    """The value picker of one axis: a multiselect for choices, else a comma-separated text."""
    axis, key = AXES[name], f"sweep_values_{name}"
    if isinstance(axis.kind, tuple):
        _keep(key, list(axis.default))
        chosen = where.multiselect(f"{axis.label} values", axis.kind, key=key, help=axis.help)
        _save(key)
        values = [v for v in axis.kind if v in chosen]  # always in the natural order
        return values, None if values else f"{axis.label}: choose at least one value."
    _keep(key, ", ".join(_fmt(v) for v in axis.default))
    text = where.text_input(
        f"{axis.label} values",
        key=key,
        help=f"{axis.help} Up to {SWEEP_CAPS['values_per_axis']} values, separated by commas.",
    )
    _save(key)
    return _parse(name, text)


def _memory_problem(specs: list[CellSpec]) -> str | None:
    """Why one batched training step would hold too much memory for the shared server."""
    worst = 0
    for members in group_cells(specs):
        need = 0
        for i in members:
            run = RunConfig(model=specs[i].model_config, train=specs[i].train_config)
            need += step_memory(run, specs[i].data.n_train) or 0
        worst = max(worst, need)
    if worst <= STEP_MEMORY_LIMIT:
        return None
    return (
        f"This grid is too large for the shared server: one batched step would hold about "
        f"{worst / 2**20:,.0f} MB (limit {STEP_MEMORY_LIMIT / 2**20:,.0f} MB). Use fewer cells, "
        "fewer points or a mini-batch, fewer solver steps or layers, or a smaller width."
    )


def _data(session: Session, run: RunConfig):
    """What the cells train on: the sidebar's data settings, or the uploaded data set."""
    return run.data if session.custom_data is None else session.data


def _setup(session: Session, run: RunConfig) -> Setup:
    """Draw the pickers and check what they ask for (nothing is trained here)."""
    names = list(AXES)
    left, right, last = st.columns([1, 1, 0.8], gap="medium")
    _keep("sweep_rows", "lr")
    rows = left.selectbox(
        "Rows", names, key="sweep_rows", format_func=lambda n: AXES[n].label, help="First setting."
    )
    _save("sweep_rows")
    row_values, row_problem = _values_widget(rows, left)
    col_names = [NONE, *(n for n in names if n != rows)]
    _keep("sweep_cols", "seed")
    if st.session_state["sweep_cols"] not in col_names:
        st.session_state["sweep_cols"] = col_names[1]
    cols = right.selectbox(
        "Columns",
        col_names,
        key="sweep_cols",
        format_func=lambda n: AXES[n].label if n else "— none (one row per value) —",
        help="Second setting.",
    )
    _save("sweep_cols")
    problems = [p for p in [row_problem] if p]
    grid = {rows: row_values}
    if cols:
        col_values, col_problem = _values_widget(cols, right)
        problems += [col_problem] if col_problem else []
        grid[cols] = col_values
    _keep("sweep_steps", DEFAULT_STEPS)
    steps = last.select_slider(
        "Steps per cell",
        STEP_OPTIONS,
        key="sweep_steps",
        help=f"Optimiser steps each cell trains (the Playground's budget is "
        f"{run.train.train_steps}). Opening a cell in the Playground keeps this budget.",
    )
    _save("sweep_steps")
    warnings = []
    if "family" not in grid:
        for name in grid:
            reason = unused_setting(name, run.model)
            if reason:
                warnings.append(f"{AXES[name].label} does not change {reason}: its cells match.")
    if problems:
        return Setup(grid, steps, problems, warnings, 0)
    if "noise" in grid and session.custom_data is not None:
        return Setup(grid, steps, ["Uploaded data has fixed points: noise cannot be swept."], [], 0)
    try:
        specs = expand_grid(_data(session, run), run.model, run.train, validate_grid(grid))
    except (ConfigError, DatasetError) as err:
        return Setup(grid, steps, [str(err)], warnings, 0)
    memory = _memory_problem(specs)
    return Setup(grid, steps, [memory] if memory else [], warnings, len(group_cells(specs)))


class _Progress:
    """``sweep``'s progress callback: refreshes the bar and stops a sweep that would run long.

    Each refresh is a Streamlit call, so a click anywhere (Stop) interrupts the sweep there.
    """

    def __init__(self, bar, label: str) -> None:
        self.bar, self.label = bar, label
        self.start, self.shown = time.perf_counter(), 0.0

    def __call__(self, fraction: float) -> None:
        elapsed = time.perf_counter() - self.start
        if elapsed > PROJECT_AFTER and elapsed / max(fraction, 1e-9) > MAX_SECONDS:
            raise _TooLong(elapsed / max(fraction, 1e-9))
        if elapsed - self.shown >= UPDATE_SECONDS:
            self.shown = elapsed
            self.bar.progress(min(fraction, 1.0), text=f"{self.label} {elapsed:.0f} s")


def _pictures(result: SweepResult) -> tuple[list[DecisionGrid | None], tuple]:
    """Decision grids of every cell on one common extent (None where the solver fails)."""
    datasets = list({id(c.data): c.data for c in result.cells}.values())
    points = np.concatenate([np.concatenate([d.x_train, d.x_test]) for d in datasets])
    extent = plot_extent(points)
    grids: list[DecisionGrid | None] = []
    for cell in result.cells:
        try:
            grids.append(decision_grid(cell.model, extent, n=GRID_POINTS))
        except SolverFailure:
            grids.append(None)
    return grids, extent


def _run(session: Session, run: RunConfig, setup: Setup, key: tuple) -> None:
    """Train the grid (time-boxed, with a progress bar and a Stop button) and store it."""
    cells = int(np.prod([len(v) for v in setup.grid.values()]))
    label = f"Training {cells} cells × {setup.steps} steps…"
    bar = st.progress(0.0, text=label)
    st.button("Stop", key="sweep_stop", icon=":material/stop:", on_click=_stopped)
    with training_slot(wait=SLOT_WAIT) as granted:
        if not granted:
            bar.empty()
            error("The server is busy training other sessions. Press Run sweep again shortly.")
            return
        try:
            result = sweep(
                _data(session, run),
                run.model,
                run.train,
                setup.grid,
                setup.steps,
                progress=_Progress(bar, label),
            )
        except _TooLong as err:
            bar.empty()
            error(
                f"This sweep would take about {err.projected:.0f} s; the limit on this shared "
                f"server is {MAX_SECONDS:.0f} s. Use fewer cells or fewer steps per cell."
            )
            return
    bar.progress(1.0, text="Drawing the decision boundaries…")
    grids, extent = _pictures(result)
    st.session_state[STORE] = Stored(key, result, grids, extent)
    st.session_state["sweep_cell"] = st.session_state.setdefault(SAVED, {})["sweep_cell"] = 0
    bar.empty()
    st.rerun()  # draw the results without the Stop button


def _stopped() -> None:
    st.session_state["sweep_note"] = "Sweep stopped. Press Run sweep to start again."


def _cell_name(result: SweepResult, i: int) -> str:
    return " · ".join(f"{AXES[n].short} {_fmt(v)}" for n, v in result.cells[i].overrides.items())


def _picked() -> None:
    """Heatmap click: pick the clicked cell (each cell's marker carries its index)."""
    state = st.session_state.get("sweep_heat")
    points = state.selection.points if state and "selection" in state else []
    for point in points:
        index = point.get("customdata")
        if isinstance(index, list):
            index = index[0] if index else None
        if isinstance(index, int | float):
            st.session_state["sweep_cell"] = int(index)


def _open(session: Session, stored: Stored, i: int) -> None:
    """Load cell i's settings into the sidebar (untrained) and go to the Playground."""
    cell = stored.result.cells[i]
    note = (
        f"Opened the sweep cell {_cell_name(stored.result, i)} ({cell.train_config.train_steps} "
        "steps): press Train to train it from its own initial weights."
    )
    if cell.run_config is not None:
        apply_run(cell.run_config, note=note)
    else:  # trained on uploaded data: keep that data (apply_run would drop it)
        run = RunConfig(data=current_run().data, model=cell.model_config, train=cell.train_config)
        session.wanted = run.to_dict()
        session.push_widgets = True
        rebuild(session, run, note=note)
    st.switch_page("app_pages/playground.py")


def _axis_labels(result: SweepResult) -> tuple[list[str], list[str], str, str]:
    names = list(result.grid)
    rows = [_fmt(v) for v in result.grid[names[0]]]
    cols = [_fmt(v) for v in result.grid[names[1]]] if len(names) > 1 else [""]
    col_title = AXES[names[1]].short if len(names) > 1 else ""
    return rows, cols, AXES[names[0]].short, col_title


def _results(session: Session, stored: Stored, key: tuple) -> None:
    result = stored.result
    rows, cols, row_title, col_title = _axis_labels(result)
    shape = (len(rows), len(cols))
    if stored.key != key:
        st.info(
            "Showing the last sweep; the sidebar or the sweep settings have changed since. "
            "Press **Run sweep** to train the new grid.",
            icon=":material/history:",
        )
    n = len(result.cells)
    _keep("sweep_cell", 0)
    if st.session_state["sweep_cell"] not in range(n):
        st.session_state["sweep_cell"] = 0
    chosen = st.session_state["sweep_cell"]
    values = {m.key: result.metric(m.key).reshape(shape) for m in METRICS}
    diverged = np.array([c.status != "ok" for c in result.cells]).reshape(shape)
    heat = sweep_heatmaps_figure(
        values,
        rows,
        cols,
        row_title=row_title,
        col_title=col_title,
        diverged=diverged,
        selected=divmod(chosen, shape[1]),
    )
    heat.update_layout(height=140 + 48 * shape[0])
    st.markdown(f"#### {n} cells, {result.steps} steps each, trained in {result.seconds:.1f} s")
    st.plotly_chart(
        heat,
        key="sweep_heat",
        theme=None,
        width="stretch",
        config={**PLOTLY_CONFIG, "displayModeBar": False},  # nothing to zoom; it hid a title
        on_select=_picked,
        selection_mode="points",
    )
    st.caption(
        "Cells trained in one batch share each solver call, so they share its NFE, and the "
        "batch's time is split evenly between them. Click a square to pick that cell."
    )
    pick, go_button, _ = st.columns([2, 1, 1], vertical_alignment="bottom")
    pick.selectbox(
        "Cell",
        range(n),
        key="sweep_cell",
        format_func=lambda i: _cell_name(result, i),
        help="Click a square of the heatmaps to pick it too.",
    )
    _save("sweep_cell")
    if go_button.button("Open in Playground", key="sweep_open", icon=":material/open_in_new:"):
        _open(session, stored, st.session_state["sweep_cell"])
    bad = [i for i, cell in enumerate(result.cells) if cell.status != "ok"]
    if bad:
        names = ", ".join(_cell_name(result, i) for i in bad)
        notice(
            f"{len(bad)} of {n} cells diverged ({names}). {names.split(',')[0]}: "
            f"{result.cells[bad[0]].message}"
        )
    if chosen not in stored.drawn:
        titles = [
            f"{_cell_name(result, i)}: {100 * c.metrics['test_acc']:.0f} %"
            for i, c in enumerate(result.cells)
        ]
        figure = sweep_boundaries_figure(
            stored.grids,
            [c.data for c in result.cells],
            shape,
            titles,
            stored.extent,
            selected=chosen,
        )
        stored.drawn.clear()
        stored.drawn[chosen] = figure
    boundaries = stored.drawn[chosen]
    st.markdown("#### Decision boundaries (test accuracy in the titles)")
    chart(boundaries, key="sweep_boundaries", height=40 + 220 * shape[0])


session = get_session()
run = current_run()
st.markdown("## Sweep")
st.markdown(
    "Pick one or two settings and up to five values each. Every combination trains from the "
    "sidebar's settings for the same number of steps, batched into one computation where the "
    "model shapes agree. Compare the cells side by side, then open the one you like in the "
    "Playground."
)
setup = _setup(session, run)
for text in setup.warnings:
    notice(text)
for text in setup.problems:
    error(text)
cells = int(np.prod([len(v) for v in setup.grid.values()]))
if not setup.problems:
    batches = "one batched computation" if setup.groups == 1 else f"{setup.groups} batches"
    st.caption(f"{cells} cells × {setup.steps} steps, trained as {batches}.")
grid_key = tuple((name, tuple(values)) for name, values in setup.grid.items())
current_key = (run, session.custom_data, grid_key, setup.steps)
if st.button(
    "Run sweep",
    key="sweep_run",
    type="primary",
    icon=":material/play_arrow:",
    disabled=bool(setup.problems),
):
    _run(session, run, setup, current_key)
if "sweep_note" in st.session_state:
    st.info(st.session_state.pop("sweep_note"), icon=":material/stop:")
if STORE in st.session_state:
    _results(session, st.session_state[STORE], current_key)
