"""Playground: train the sidebar's model live and watch its decision boundary form."""

import streamlit as st

from deqnet import StepRecord
from deqnet.figures import boundary_figure, curves_figure, paths_preview_figure
from deqnet.figures.live import boundary_update, preview_update
from ui.budget import memory_problem
from ui.links import export_panel
from ui.live import live_fragment, live_picture, page_run_only, pause_training, start_training
from ui.live_chart import LiveChart, show_live_chart
from ui.show import error, solver_failure
from ui.state import (
    PREVIEW_POINTS,
    Session,
    get_session,
    hidden_controls,
    note,
    regenerate_data,
    reset,
    set_view,
    step_once,
)

# While training, the browser redraws the curves and the path preview at most this often
# (Plotly redraws them whole); the decision boundary's shading follows every picture.
CURVES_SECONDS = 0.4
PREVIEW_SECONDS = 0.5


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
    regen = "regen" not in hidden and session.custom_data is None
    widths = [1.2, 1, 1, *([1.6] if regen else []), 1.6, 1.6]
    cols = st.columns(widths, vertical_alignment="center")
    if session.live.running:
        label, icon = "Pause", ":material/pause:"
    else:
        label, icon = "Train", ":material/play_arrow:"
    cols[0].button(
        label,
        key="pg_train",
        type="primary",
        icon=icon,
        on_click=pause_training if session.live.running else start_training,
        args=(session,),
        disabled=not session.live.running and (session.diverged or session.budget_reached),
        width="stretch",
    )
    cols[1].button(
        "Step",
        key="pg_step",
        icon=":material/skip_next:",
        on_click=page_run_only(_step),
        args=(session,),
        disabled=session.diverged,
        help="One optimiser step.",
        width="stretch",
    )
    cols[2].button(
        "Reset",
        key="pg_reset",
        icon=":material/replay:",
        on_click=page_run_only(reset),
        args=(session,),
        help="Back to the same initial weights (same seed), history cleared.",
        width="stretch",
    )
    if regen:
        cols[3].button(
            "Regenerate data",
            key="pg_regen",
            icon=":material/casino:",
            on_click=page_run_only(regenerate_data),
            args=(session,),
            help="New random points (a new data seed, saved in the link); resets the model.",
            width="stretch",
        )
    with cols[-2]:
        _view_toggle(session, "showtest", "Show test data", "Draw the held-out test points too.")
    with cols[-1]:
        _view_toggle(
            session, "discrete", "Discretize output", "Colour by predicted class, no confidence."
        )


def _status(session: Session, done: int) -> None:
    """The divergence message, or one line of progress toward the step budget."""
    trainer, budget = session.trainer, session.run.train.train_steps
    if session.diverged:
        error(trainer.message)
        text = f"Stopped at step {done} of {budget}: press Reset, or change a setting and Train."
    elif session.live.running:
        text = f"Training… step {done} of {budget}"
    elif session.budget_reached:
        text = (
            f"Trained for the full budget of {budget} steps. Raise *Step budget* in Training to "
            "continue, or press Reset."
        )
    elif done:
        text = f"Paused at step {done} of {budget}."
    else:
        text = f"Ready: press Train to take up to {budget} steps."
    st.progress(min(done / budget, 1.0), text=text)


def _metrics(session: Session, history: list[StepRecord]) -> None:
    last = history[-1] if history else None
    recent = history[-20:]
    ms = 1000 * sum(r.seconds for r in recent) / len(recent) if recent else None
    top, bottom = st.columns(3), st.columns(3)
    top[0].metric("Step", f"{len(history)} / {session.run.train.train_steps}")
    top[1].metric("Train accuracy", f"{100 * last.train_acc:.1f} %" if last else "–")
    top[2].metric("Test accuracy", f"{100 * last.test_acc:.1f} %" if last else "–")
    bottom[0].metric("Loss", f"{last.loss:.4f}" if last else "–")
    bottom[1].metric(
        "NFE per step",
        f"{last.nfe_forward} / {last.nfe_backward}" if last else "–",
        help="Evaluations of the vector field (or layers) in the forward / backward pass. "
        "Backward is 0 with backprop (autograd reuses the forward pass); the adjoint method "
        "solves a second ODE backwards.",
    )
    bottom[2].metric(
        "ms per step",
        f"{ms:.1f}" if ms is not None else "–",
        help="Training time per step. Sessions that train the same kind of model at once "
        "share one stacked computation, so in a class each one's share is smaller.",
    )


def _charts(session: Session, history: list[StepRecord]) -> tuple[LiveChart, ...] | None:
    """The boundary, curves and preview charts; None if the model cannot be drawn."""
    picture = live_picture(session)
    grid, traj, extent = picture.grid, picture.paths, picture.extent
    if grid is None or traj is None:
        return None
    data, view = session.data, session.link.view
    labels = data.y_train[:PREVIEW_POINTS]
    boundary = LiveChart(
        key="pg_boundary",
        height=540,
        figure=lambda: boundary_figure(
            grid,
            data,
            show_test=view["showtest"],
            discretize=view["discrete"],
            extent=extent,
            big=True,
        ),
        base=(id(data), view["showtest"], view["discrete"], len(grid.xs)),
        picture=picture.shows,
        restyle=lambda: (boundary_update(grid, view["discrete"]), {}),
        shading=True,
    )
    curves = LiveChart(
        key="pg_curves",
        height=300,
        figure=lambda: curves_figure(history),
        base=id(session.trainer),
        history=history,
        min_interval=CURVES_SECONDS,
    )
    preview = LiveChart(
        key="pg_paths",
        height=230,
        figure=lambda: paths_preview_figure(traj, labels, extent),
        base=id(data),
        picture=picture.shows,
        restyle=lambda: preview_update(traj, labels, extent),
        min_interval=PREVIEW_SECONDS,
    )
    return boundary, curves, preview


def _panel(session: Session) -> None:
    history = session.trainer.history[:]  # one consistent copy: the trainer thread appends
    _status(session, len(history))
    charts = _charts(session, history)
    if charts is None:
        _metrics(session, history)
        error(solver_failure("the picture cannot be drawn"))
        return
    boundary, curves, preview = charts
    left, right = st.columns([3, 2], gap="medium")
    with left:
        show_live_chart(session, boundary)
    with right:
        _metrics(session, history)
        show_live_chart(session, curves)
        show_live_chart(session, preview)


session = get_session()
hidden = hidden_controls(session)
st.markdown("## Playground")
st.markdown(
    "deqnet trains small neural networks on 2-D points live and shows them as the paper does: as "
    "flows of a differential equation, with ResNets as its Euler steps. Choose data and a model "
    "in the sidebar, press **Train** and watch the decision boundary form; the other pages show "
    "the hidden-state paths, the backprop momentum and layers ↔ time."
)
_buttons(session, hidden)
live_fragment(_panel, key="playground", what="the live training panel")
export_panel(session, hidden)
