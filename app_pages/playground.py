"""Playground: train the sidebar's model live and watch its decision boundary form."""

import streamlit as st

from deqnet import StepRecord
from deqnet.figures import boundary_figure, curves_figure, paths_preview_figure
from deqnet.figures.curves import test_spread
from deqnet.figures.style import band_color, class_color
from deqnet.live import metric_texts, status_text
from deqnet.live.picture import Picture
from deqnet.live.status import metric_labels
from ui.budget import memory_problem
from ui.drawing import chart_data, drawing_problem, panel_data
from ui.links import export_panel
from ui.live import live_picture, page_run_only, pause_training, polling_panel, start_training
from ui.live_panel import METRIC_HELP, live_panel, stream_unavailable
from ui.show import chart, error, guarded, solver_failure
from ui.state import (
    Session,
    get_session,
    hidden_controls,
    note,
    presenting,
    regenerate_data,
    reset,
    set_view,
    step_once,
    uses_own_data,
)
from ui.thumbnails import dataset_picker

# Chart heights in px: the boundary fills a laptop screen's height beside the metrics.
HEIGHTS = {"boundary": 540, "curves": 300, "preview": 230}


def _step(session: Session) -> None:
    problem = memory_problem(session)
    if problem:
        note(session, problem)
    else:
        step_once(session)


def _view_toggle(session: Session, key: str, label: str, help_text: str) -> None:
    if key not in st.session_state:
        st.session_state[key] = session.link.view[key]
    set_view(session, key, st.toggle(label, key=key, help=help_text))


def _buttons(session: Session, hidden: frozenset[str]) -> None:
    waiting = drawing_problem(session) is not None  # a drawing too small to train on
    # One row that wraps on a narrow screen (columns would stack one full-width button per line
    # on a phone and push the chart off the first screen).
    row = st.container(horizontal=True, vertical_alignment="center")
    if session.live.running:
        label, icon = "Pause", ":material/pause:"
    else:
        label, icon = "Train", ":material/play_arrow:"
    row.button(
        label,
        key="pg_train",
        type="primary",
        icon=icon,
        on_click=pause_training if session.live.running else start_training,
        args=(session,),
        disabled=not session.live.running
        and (session.diverged or session.budget_reached or waiting),
    )
    row.button(
        "Step",
        key="pg_step",
        icon=":material/skip_next:",
        on_click=page_run_only(_step),
        args=(session,),
        disabled=session.diverged or waiting,
        help="One optimiser step.",
    )
    row.button(
        "Reset",
        key="pg_reset",
        icon=":material/replay:",
        on_click=page_run_only(reset),
        args=(session,),
        help="Back to the same initial weights (same seed), history cleared.",
    )
    if "regen" not in hidden and not uses_own_data(session):
        row.button(
            "Regenerate data",
            key="pg_regen",
            icon=":material/casino:",
            on_click=page_run_only(regenerate_data),
            args=(session,),
            help="New random points (a new data seed, saved in the link); resets the model.",
        )
    with row:
        if session.drawing is None:  # drawn points are all shown, test points as rings
            _view_toggle(
                session, "showtest", "Show test data", "Draw the held-out test points too."
            )
        _view_toggle(
            session, "discrete", "Discretize output", "Colour by predicted class, no confidence."
        )


def _status(session: Session, done: int) -> None:
    """The progress bar with one line of progress toward the step budget (polling panel)."""
    text = status_text(
        done, session.budget, running=session.live.running, diverged=session.diverged
    )
    st.progress(min(done / session.budget, 1.0), text=text)


def _metrics(session: Session, history: list[StepRecord]) -> None:
    """The metrics row as Streamlit metrics (polling panel, or a model that cannot be drawn)."""
    task = session.data.task
    texts = metric_texts(history, session.budget, task)
    labels = metric_labels(task)
    names = list(labels)
    for row in (names[:3], names[3:]):
        for col, name in zip(st.columns(3), row, strict=True):
            col.metric(labels[name], texts[name], help=METRIC_HELP.get(name))


def _figures(session: Session, history: list[StepRecord]) -> tuple[dict, Picture] | None:
    """The boundary, curves and preview figures of the session now, and the picture they show
    (its step, its depth strip); None (after saying so, with the metrics) if the model cannot
    be drawn."""
    picture = live_picture(session)
    grid, traj, extent = picture.grid, picture.paths, picture.extent
    if grid is None or traj is None:
        _metrics(session, history)
        error(solver_failure("the picture cannot be drawn"))
        return None
    view = session.link.view
    shown, show_test = chart_data(session, view["showtest"])
    figures = {
        "boundary": boundary_figure(
            grid,
            shown,
            show_test=show_test,
            discretize=view["discrete"],
            extent=extent,
            big=True,
        ),
        "curves": curves_figure(
            history, budget=session.budget, test_spread=test_spread(session.data)
        ),
        "preview": paths_preview_figure(
            traj,
            picture.labels,
            extent,
            palette=class_color if picture.value_range is None else band_color,
        ),
    }
    return figures, picture


def _streamed(session: Session) -> None:
    """The live panel as one component that the trainer's frames update."""
    history = session.trainer.history[:]
    drawn = _figures(session, history)
    if drawn is None:
        return
    figures, picture = drawn
    # Drawn points are classes: no drawing tools while the data is a regression's.
    drawable = "dataset" not in hidden_controls(session) and session.data.task != "regression"
    draw = panel_data(session) if drawable else None
    live_panel(
        session,
        figures=figures,
        heights=HEIGHTS,
        grid_step=picture.step,
        draw=draw,
        picture=picture,
    )


def _polled(session: Session) -> None:
    """The live panel as Streamlit elements, redrawn by every poll (the fallback)."""
    history = session.trainer.history[:]  # one consistent copy: the trainer thread appends
    _status(session, len(history))
    drawn = _figures(session, history)
    if drawn is None:
        return
    figures, _ = drawn
    left, right = st.columns([3, 2], gap="medium")
    with left:
        chart(figures["boundary"], key="pg_boundary", height=HEIGHTS["boundary"])
    with right:
        _metrics(session, history)
        chart(figures["curves"], key="pg_curves", height=HEIGHTS["curves"])
        chart(figures["preview"], key="pg_paths", height=HEIGHTS["preview"])


session = get_session()
hidden = hidden_controls(session)
# The data-set thumbnails beside the title: above the live panel without pushing the boundary
# below a projector's fold (they wrap under the title on a narrow screen).
head = st.container(horizontal=True, vertical_alignment="center", gap="small", key="pg_head")
head.markdown("## Playground", width="content")
if "dataset" not in hidden:  # classroom mode hides the picker with the sidebar's selector
    with head, guarded("the data-set picker"):
        dataset_picker(session)
if not presenting(session):  # on a projector the teacher says it, and the chart needs the room
    st.markdown(
        "deqnet trains small neural networks on 2-D points live and shows them as the paper "
        "does: as flows of a differential equation, with ResNets as its Euler steps. Choose data "
        "and a model in the sidebar, press **Train** and watch the decision boundary form; the "
        "other pages show the hidden-state paths, the backprop momentum and layers ↔ time."
    )
_buttons(session, hidden)
if session.diverged:
    error(session.trainer.message)
fallback = stream_unavailable(session)
if fallback:
    polling_panel(_polled, what="the live training panel")
else:
    with guarded("the live training panel"):
        _streamed(session)
export_panel(session, hidden)
