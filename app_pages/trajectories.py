"""Trajectories: the flow of the input plane from t = 0 to T (discrete nets: layer by layer)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import plotly.graph_objects as go
import streamlit as st

from deqnet.analysis import plot_extent, vector_field_grid
from deqnet.analysis.flow import PlaneFlow, field_times, plane_flow
from deqnet.analysis.readout import readout_line
from deqnet.figures import (
    coordinates_figure,
    features_3d_figure,
    flow_animation_figure,
    paths_3d_figure,
    paths_figure,
)
from deqnet.figures.animation import opening_at
from deqnet.figures.paths import paths_box
from deqnet.figures.readout import readout_line_figure
from deqnet.figures.style import colour_by_target, display_labels, output_range, target_colorbar
from deqnet.figures.trajectories import (
    add_time_slice,
    label_layer_frames,
    mark_layers,
    step_back,
    value_label_right,
    volume_cloud_figure,
)
from deqnet.presets import PRESETS
from ui.information import information_panel
from ui.live_panel import requested_depth
from ui.show import chart, layer_label, page_intro, unless_solver_fails
from ui.state import Session, apply_preset, apply_run, ensure_trained, memo

DRAWN_PATHS = 300  # paths drawn in every chart (the animation, the plane, 3-D, coordinates)
STAT_POINTS = 1000  # training points behind the volume statistics and the final features
FIELD_TIMES = 21  # positions of the vector-field time slider for continuous models
FIELD_ARROWS = 15  # the vector field's arrows per side of the paths' box
SAMPLE_SEED = 0  # which training points are drawn: fixed, so reruns show the same paths
AUGMENT_PRESET = "rings-augmented"  # the lesson that shows augmented final features
FAMILY_NAMES = {"resnet": "ResNet", "feedforward": "near-identity feed-forward network"}
TABS = ("Paths over the vector field", "3-D views", "Divergence and volume", "Information")


def _compute(session: Session, extent: tuple[float, float, float, float]) -> PlaneFlow:
    """All analysis of the page for the session's current weights (memoised per version),
    its labels as the figures draw them (regression: target bands)."""
    flow = plane_flow(
        session.model,
        session.data,
        extent,
        points=STAT_POINTS,
        drawn=DRAWN_PATHS,
        seed=SAMPLE_SEED,
    )
    return replace(flow, labels=display_labels(session.data, flow.labels))


def _with_colorbar(session: Session, fig: go.Figure) -> go.Figure:
    """Regression: a colour bar of the targets the points are coloured by."""
    if session.data.task == "regression":
        target_colorbar(fig, output_range(session.data.y_all))
    return fig


def _intro(session: Session) -> None:
    st.markdown("## Trajectories")
    model = session.run.model
    if model.discrete:
        what = (
            f"A {FAMILY_NAMES[model.family]} moves every point of the plane in "
            f"{model.layers} steps, one per layer (layer l sits at time t = l·Δt, "
            f"Δt = T/L = {model.dt:.3g})."
        )
    else:
        what = "The network moves every point of the plane along a path from t = 0 to T."
    st.markdown(
        f"{what} The classifier only draws a straight line at the end, so the flow must untangle "
        "the classes first. An ODE flow is a **homeomorphism**: it can stretch and squeeze the "
        "plane (watch the grid) but never tear or fold it — which is why some problems need an "
        "extra dimension, or a coarse discrete net that is allowed to fold."
    )
    page_intro(session)


def _animation_figure(session: Session, flow: PlaneFlow, extent) -> go.Figure:
    fig = flow_animation_figure(
        flow.drawn_traj, flow.drawn_labels, flow.grid, extent, max_points=DRAWN_PATHS, big=True
    )
    value_label_right(fig)
    model = session.run.model
    if model.discrete:
        label_layer_frames(fig, flow.traj.t, model.dt)
    return _with_colorbar(session, fig)


def _animation(session: Session, flow: PlaneFlow, extent, opened: float | None) -> None:
    # Building the frames takes about a second: once per model version, not on every rerun.
    fig = memo(session, "traj_animation", lambda: _animation_figure(session, flow, extent))
    if opened is not None:  # the Playground's depth strip asked for this depth
        fig = opening_at(fig, flow.drawn_traj.t, opened)
    model = session.run.model
    left, right = st.columns([5, 2])
    with left:
        chart(fig, key="traj_animation", height=680)
    with right:
        st.markdown("#### What you see")
        bullets = [
            f"{flow.drawn} training points, coloured by "
            f"{'target' if session.data.task == 'regression' else 'class'}, and the lines of a "
            "square grid, "
            "all carried by the flow.",
            "Press **▶** or drag the slider below the picture; it plays in your browser.",
            "The view follows the points, so the **scale changes** from frame to frame as the "
            "flow spreads them, and x₁ and x₂ may be scaled differently: read the numbers on "
            "the axes.",
            "Grid cells that grow or shrink show where the flow stretches or squeezes the plane; "
            "lines never cross in an ODE flow.",
        ]
        if model.discrete:
            bullets.append(
                "A discrete net jumps from layer to layer; with a coarse step it *can* fold the "
                "plane (grid lines crossing)."
            )
        if model.augment:
            bullets.append(
                f"With {model.augment} extra dimension{'s' if model.augment > 1 else ''} you see "
                "the shadow on the (x₁, x₂) plane, where points may seem to pass through each "
                "other — see **3-D views**."
            )
        st.markdown("\n".join(f"- {b}" for b in bullets))


def _time_options(session: Session) -> tuple[list[float], Callable[[float], str]]:
    """Times the vector-field slider offers and how it labels them."""
    model = session.run.model
    times = field_times(session.model, FIELD_TIMES)
    if model.discrete:
        dt = model.dt
        return times, lambda t: layer_label(t, dt)
    return times, lambda t: f"t = {t:.2f}"


def _paths_tab(session: Session, flow: PlaneFlow, extent, opened: float | None) -> None:
    options, label = _time_options(session)
    if opened is not None:  # a click on the Playground's depth strip: the nearest time offered
        st.session_state["traj_time"] = min(options, key=lambda t: abs(t - opened))
    if st.session_state.get("traj_time") not in options:
        st.session_state["traj_time"] = options[0]
    discrete = session.run.model.discrete
    t = st.select_slider(
        "Layer whose step (xₗ₊₁ − xₗ)/Δt is drawn as arrows"
        if discrete
        else "Time t of the vector field F(x, t)",
        options,
        format_func=label,
        key="traj_time",
        help="The arrows show the velocity at this time; the diamonds are the points at this "
        "time, each about to move along the arrow under it.",
    )
    # The field on the whole (square) box the paths reach, so that its arrows cover every path.
    field_box = paths_box(flow.drawn_traj, extent, max_paths=DRAWN_PATHS)
    field = vector_field_grid(session.model, t, field_box, n=FIELD_ARROWS)
    paths = paths_figure(
        flow.drawn_traj,
        flow.drawn_labels,
        field=field,
        max_paths=DRAWN_PATHS,
        extent=extent,
        equal=False,  # fill the column: tall paths at equal scale were a strip
        big=True,
    )
    add_time_slice(paths, flow.drawn_at(t), flow.drawn_labels, t=t, big=True)
    _with_colorbar(session, paths)
    if discrete:
        mark_layers(paths)
    coords = memo(session, "traj_coords", lambda: _coordinates_figure(session, flow))
    left, right = st.columns(2)
    with left:
        chart(paths, key="traj_paths", height=560)
    with right:
        chart(coords, key="traj_coords", height=560)


def _coordinates_figure(session: Session, flow: PlaneFlow) -> go.Figure:
    fig = coordinates_figure(flow.drawn_traj, flow.drawn_labels, max_paths=DRAWN_PATHS, big=True)
    return mark_layers(fig) if session.run.model.discrete else fig


def _paths_3d_figure(session: Session, flow: PlaneFlow) -> go.Figure:
    fig = step_back(
        paths_3d_figure(flow.drawn_traj, flow.drawn_labels, max_paths=DRAWN_PATHS, big=True)
    )
    return mark_layers(fig, size=3) if session.run.model.discrete else fig


def _offer_augment(session: Session) -> None:
    run = session.run
    st.info(
        "The final features live in the (x₁, x₂) plane for this model, so there is no third "
        "dimension to show. Add an extra dimension (augment = 1) to let the flow lift one class "
        "above the other — the paper's way around a disk inside a ring.",
        icon=":material/view_in_ar:",
    )
    left, right = st.columns(2)
    left.button(
        "Add one extra dimension",
        key="traj_augment",
        icon=":material/add:",
        on_click=apply_run,
        args=(replace(run, model=run.model.replace(augment=1)),),
        kwargs={"note": "Added one extra dimension (augment = 1); the model was rebuilt."},
        help="The same data and model with augment = 1, retrained from scratch.",
    )
    preset = PRESETS[AUGMENT_PRESET]
    right.button(
        f"Lesson: {preset.title}",
        key="traj_preset",
        icon=":material/school:",
        on_click=apply_preset,
        args=(preset,),
        help=preset.explanation,
    )


def _views_tab(session: Session, flow: PlaneFlow) -> None:
    paths3d = memo(session, "traj_paths3d", lambda: _paths_3d_figure(session, flow))
    left, right = st.columns(2)
    with left:
        st.markdown("**Paths in (x₁, x₂, t)** — depth runs upwards")
        chart(paths3d, key="traj_paths3d", height=560)
    with right:
        st.markdown("**Final features x(T)** of the augmented state")
        if session.run.model.augment >= 1:
            features = memo(
                session,
                "traj_features",
                lambda: step_back(features_3d_figure(flow.traj.x[-1], flow.labels, big=True)),
            )
            chart(features, key="traj_features", height=560)
        else:
            _offer_augment(session)
    _readout_line(session, flow)


def _readout_line(session: Session, flow: PlaneFlow) -> None:
    st.markdown("**Final features along the readout direction**")
    fig = memo(
        session,
        "traj_readout",
        lambda: readout_line_figure(
            readout_line(session.model, flow.traj.x[-1], flow.labels), big=True
        ),
    )
    chart(fig, key="traj_readout", height=300)
    st.caption(
        "The linear classifier reads the final state along one direction only (for two "
        "classes: where the two logits differ fastest). Each dot is one point's x(T) projected "
        "on it, one row per class; a trained flow lays the classes out along this line, one "
        "after the other, with the dashed line where the classifier switches."
    )


def _volume_tab(session: Session, flow: PlaneFlow) -> None:
    discrete = session.run.model.discrete
    fig = memo(
        session,
        "traj_volume",
        lambda: volume_cloud_figure(
            flow.traj.t,
            flow.mean_div,
            flow.log_volume,
            flow.cloud,
            discrete=discrete,
            big=True,
        ),
    )
    left, right = st.columns([3, 2])
    with left:
        chart(fig, key="traj_volume", height=560)
    with right:
        st.markdown(
            "The divergence Tr ∂F/∂x is the rate at which the flow changes volume near a point. "
            "Integrated along a path it gives log|det ∂x(t)/∂x(0)| exactly; its mean over the "
            "points is the change of the cloud's entropy."
        )
        if discrete:
            st.markdown("For a discrete net the rate is log|det ∂xₗ₊₁/∂xₗ| / Δt of each layer.")
        if not flow.cloud_starts_flat:
            st.markdown(
                "The dashed curve estimates the same change from the cloud's covariance alone, "
                "which is exact only for a Gaussian cloud: a flow can squeeze every neighbourhood "
                "while pulling the classes apart, which widens the cloud as a whole."
            )
        else:
            st.markdown(
                "An augmented cloud starts flat (zero volume in the extra dimensions), so there "
                "is no covariance estimate of its change to compare with."
            )


def _page() -> None:
    session = ensure_trained()
    _intro(session)
    extent = memo(session, "traj_extent", lambda: plot_extent(session.data), per_version=False)
    regression = session.data.task == "regression"
    with unless_solver_fails("the paths cannot be drawn"), colour_by_target(regression):
        flow = memo(session, "traj_flow", lambda: _compute(session, extent))
        opened = requested_depth()
        _animation(session, flow, extent, opened)
        _tabs(session, flow, extent, opened)


def _tabs(session: Session, flow: PlaneFlow, extent, opened: float | None) -> None:
    # Lazy tabs: only the open tab is built and sent, which keeps the page within its chart
    # budget (at most three charts, two of them WebGL, at a time).
    if opened is not None:
        st.session_state["traj_tab"] = TABS[0]
    tabs = st.tabs(TABS, key="traj_tab", on_change="rerun")
    for name, container in zip(TABS, tabs, strict=True):
        if not container.open:
            continue
        with container:
            if name == TABS[0]:
                _paths_tab(session, flow, extent, opened)
            elif name == TABS[1]:
                _views_tab(session, flow)
            elif name == TABS[2]:
                _volume_tab(session, flow)
            else:
                information_panel(session, key="traj_information")


_page()
