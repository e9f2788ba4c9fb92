"""The shared sidebar: the whole configuration, grouped in Data / Model / Training expanders.

Widget values live in two places: the widgets' own session-state entries (keys = URL keys) and
``Session.wanted``, the canonical copy. Widgets that are not rendered (not applicable to the
chosen family, or hidden in classroom mode) lose their widget state, so every widget is seeded
from ``wanted`` before it is drawn and writes its value back afterwards.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from deqnet import RunConfig
from deqnet.datasets import TASKS, task_of
from ui.controls import CONTROLS, GROUPS, Control, task_datasets
from ui.drawing import describe, drawing_problem
from ui.state import Session, coerce_run, drop_custom_data, hidden_controls, uses_own_data

# Groups open at start; Training holds the most-used knob (learning rate) so it is open too.
_EXPANDED = {"Data": True, "Model": True, "Training": True}


def _choices(control: Control, run: RunConfig) -> list[Any]:
    """Options of a select/radio/steps control, always including the run's current value."""
    options = list(control.options(run))
    value = control.value(run)
    if control.kind == "steps" and value not in options:
        options = sorted([*options, value])
    return options


def _valid(control: Control, run: RunConfig, value: Any) -> bool:
    """Whether a widget-state value can be shown by the widget as configured for ``run``."""
    if control.kind in ("select", "radio", "steps"):
        return value in _choices(control, run)
    low, high = control.options(run)[:2]
    return isinstance(value, int | float) and low <= value <= high


def _seed(control: Control, run: RunConfig, force: bool) -> None:
    """Put the canonical value into the widget's state unless it already holds a valid one."""
    key = control.key
    if force or key not in st.session_state or not _valid(control, run, st.session_state[key]):
        st.session_state[key] = control.value(run)


def _widget(control: Control, run: RunConfig, *, disabled: bool) -> Any:
    """Draw one control (its state already seeded) and return its value."""
    common: dict[str, Any] = {"key": control.key, "help": control.help, "disabled": disabled}
    fmt = control.formatter(run)
    if control.kind == "select":
        return st.selectbox(control.label, _choices(control, run), format_func=fmt, **common)
    if control.kind == "radio":
        return st.radio(
            control.label, _choices(control, run), format_func=fmt, horizontal=True, **common
        )
    if control.kind == "steps":
        return st.select_slider(control.label, _choices(control, run), format_func=fmt, **common)
    if control.kind == "slider":
        low, high, step = control.options(run)
        return st.slider(control.label, low, high, step=step, **common)
    low, high = control.options(run)
    return int(
        st.number_input(control.label, min_value=int(low), max_value=int(high), step=1, **common)
    )


def _custom_data_note(session: Session) -> None:
    data = session.custom_data
    if session.drawing is not None:
        problem = drawing_problem(session)
        text = f"Using your drawn points ({describe(session)})."
        st.info(f"{text} {problem}" if problem else text, icon=":material/draw:")
    else:
        kind = "regression targets" if data.task == "regression" else f"{data.n_classes} classes"
        st.info(
            f"Using your uploaded data ({data.n_train} train + {data.n_test} test points, "
            f"{kind}). Uploaded data is not part of the shareable link.",
            icon=":material/upload_file:",
        )
    st.button(
        "Back to generated data",
        key="sb_drop_custom",
        on_click=drop_custom_data,
        args=(session,),
        icon=":material/undo:",
    )


TASK_KEY = "sb_task"
TASK_HELP = (
    "Classification: every point has a class, and the model learns where each class lies. "
    "Regression: every point has a real number, and the model learns it as a function of the "
    "point (squared-error loss, scored by R²). Switching changes the data sets on offer."
)


def _switch_task(session: Session) -> None:
    """The task radio changed: the first data set of the new task (the model resets)."""
    task = st.session_state[TASK_KEY]
    if task_of(session.wanted["data"]["name"]) != task:
        session.wanted["data"]["name"] = task_datasets(task)[0]


def _task_switch(session: Session, *, disabled: bool) -> None:
    """The task radio. It holds no setting of its own: the task follows from the data set
    (and so does a link), or from uploaded data, so it is seeded from that on every run."""
    custom = session.custom_data
    task = custom.task if custom is not None else task_of(session.wanted["data"]["name"])
    st.session_state[TASK_KEY] = task
    st.radio(
        "Task",
        TASKS,
        format_func=str.capitalize,
        horizontal=True,
        key=TASK_KEY,
        help=TASK_HELP,
        disabled=disabled,
        on_change=_switch_task,
        args=(session,),
    )


def render(session: Session) -> None:
    """Draw every applicable, non-hidden control and copy the values into ``session.wanted``."""
    force = session.push_widgets
    if force:
        for key in CONTROLS:
            st.session_state.pop(key, None)
    hidden = hidden_controls(session)
    for group, controls in GROUPS.items():
        shown = [c for c in controls if c.key not in hidden]
        if not shown:
            continue
        with st.expander(group, expanded=_EXPANDED[group]):
            custom = group == "Data" and uses_own_data(session)
            if custom:
                _custom_data_note(session)
            if group == "Data" and "dataset" not in hidden:
                _task_switch(session, disabled=custom)
            for control in shown:
                # Recomputed per control: an earlier choice (e.g. the family) decides what follows.
                run = coerce_run(session.wanted)
                if not control.applies(run):
                    continue
                _seed(control, run, force)
                value = _widget(control, run, disabled=custom)
                session.wanted[control.section][control.field] = value
    session.push_widgets = False
