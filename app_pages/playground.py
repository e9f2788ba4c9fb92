"""Playground: train the sidebar's model live and watch its decision boundary form."""

import streamlit as st

from deqnet import SolverFailure, decision_grid, plot_extent, trajectory
from deqnet.figures import boundary_figure, curves_figure, paths_preview_figure
from ui.guard import memory_problem
from ui.live import live_fragment, toggle_training
from ui.sharing_ui import export_panel, new_data_seed
from ui.show import chart, error
from ui.state import Session, get_session, memo, reset, step_once

GRID_POINTS = 100  # decision heatmap resolution (n x n model evaluations per redraw)
PREVIEW_POINTS = 64  # hidden-state paths drawn in the small preview


def _regenerate(session: Session) -> None:
    seed = new_data_seed()
    session.wanted["data"]["seed"] = seed
    st.session_state["dseed"] = seed


def _step(session: Session) -> None:
    problem = memory_problem(session)
    if problem:
        session.notes.append(problem)
    else:
        step_once(session)


def _view_toggle(session: Session, key: str, label: str, help_text: str) -> None:
    if key not in st.session_state:
        st.session_state[key] = session.view[key]
    session.view[key] = st.toggle(label, key=key, help=help_text)


def _buttons(session: Session, hidden: frozenset[str]) -> None:
    regen = "regen" not in hidden and session.custom_data is None
    widths = [1.2, 1, 1, *([1.6] if regen else []), 1.6, 1.6]
    cols = st.columns(widths, vertical_alignment="center")
    if session.running:
        label, icon = "Pause", ":material/pause:"
    else:
        label, icon = "Train", ":material/play_arrow:"
    cols[0].button(
        label,
        key="pg_train",
        type="primary",
        icon=icon,
        on_click=toggle_training,
        args=(session,),
        disabled=not session.running and (session.diverged or session.budget_reached),
        width="stretch",
    )
    cols[1].button(
        "Step",
        key="pg_step",
        icon=":material/skip_next:",
        on_click=_step,
        args=(session,),
        disabled=session.diverged,
        help="One optimiser step.",
        width="stretch",
    )
    cols[2].button(
        "Reset",
        key="pg_reset",
        icon=":material/replay:",
        on_click=reset,
        args=(session,),
        help="Back to the same initial weights (same seed), history cleared.",
        width="stretch",
    )
    if regen:
        cols[3].button(
            "Regenerate data",
            key="pg_regen",
            icon=":material/casino:",
            on_click=_regenerate,
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


def _status(session: Session) -> None:
    """The divergence message, or one line of progress toward the step budget."""
    trainer, budget = session.trainer, session.run.train.train_steps
    done = trainer.steps_done
    if session.diverged:
        error(trainer.message)
    if session.diverged:
        text = f"Stopped at step {done} of {budget}: press Reset, or change a setting and Train."
    elif session.running:
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


def _metrics(session: Session) -> None:
    history = session.trainer.history
    last = history[-1] if history else None
    recent = history[-20:]
    ms = 1000 * sum(r.seconds for r in recent) / len(recent) if recent else None
    top, bottom = st.columns(3), st.columns(3)
    top[0].metric("Step", f"{session.steps_done} / {session.run.train.train_steps}")
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
    bottom[2].metric("ms per step", f"{ms:.1f}" if ms is not None else "–")


def _figures(session: Session):
    """The three figures for the current weights; SolverFailure if the model cannot be drawn."""
    data, model = session.data, session.model
    extent = memo(session, "extent", lambda: plot_extent(data), per_version=False)
    grid = memo(session, "grid", lambda: decision_grid(model, extent, n=GRID_POINTS))
    boundary = boundary_figure(
        grid,
        data,
        show_test=session.view["showtest"],
        discretize=session.view["discrete"],
        extent=extent,
        big=True,
    )
    traj = memo(session, "preview", lambda: trajectory(model, data.x_train[:PREVIEW_POINTS]))
    preview = paths_preview_figure(traj, data.y_train[:PREVIEW_POINTS], extent)
    return boundary, curves_figure(session.trainer.history), preview


def _panel(session: Session) -> None:
    _status(session)
    try:
        boundary, curves, preview = _figures(session)
    except SolverFailure:
        _metrics(session)
        error(
            "The current weights make the ODE solver fail somewhere on the plot; the picture "
            "cannot be drawn. Press Reset or relax the solver settings."
        )
        return
    left, right = st.columns([3, 2], gap="medium")
    with left:
        chart(boundary, key="pg_boundary", height=540)
    with right:
        _metrics(session)
        chart(curves, key="pg_curves", height=300)
        chart(preview, key="pg_paths", height=230)


session = get_session()
hidden = session.hidden if session.classroom else frozenset()
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
