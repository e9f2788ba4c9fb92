"""Trajectories: the flow of the input plane from t = 0 to T (discrete nets: layer by layer)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from deqnet import SolverFailure, Trajectory, trajectory
from deqnet.analysis import (
    GridFlow,
    cloud_log_volume,
    deformed_grid,
    log_volume_change,
    mean_divergence,
    plot_extent,
    vector_field_grid,
)
from deqnet.figures import (
    coordinates_figure,
    features_3d_figure,
    flow_animation_figure,
    paths_3d_figure,
    paths_figure,
)
from deqnet.figures.style import view_extent
from deqnet.figures.trajectories import (
    add_time_slice,
    fill_plane,
    label_layer_frames,
    mark_layers,
    step_back,
    value_label_right,
    volume_cloud_figure,
)
from deqnet.presets import PRESETS
from ui.show import chart, error, notice
from ui.state import Session, apply_run, ensure_trained, memo, trained_summary

DRAWN_PATHS = 300  # paths drawn in every chart (the animation, the plane, 3-D, coordinates)
STAT_POINTS = 1000  # training points behind the volume statistics and the final features
FIELD_TIMES = 21  # positions of the vector-field time slider for continuous models
SAMPLE_SEED = 0  # which training points are drawn: fixed, so reruns show the same paths
AUGMENT_PRESET = "rings-augmented"  # the lesson that shows augmented final features
FAMILY_NAMES = {"resnet": "ResNet", "feedforward": "near-identity feed-forward network"}
TABS = ("Paths over the vector field", "3-D views", "Divergence and volume")


@dataclass(frozen=True)
class Flow:
    """What the page draws, for one model version.

    Attributes:
        traj: t (K,), x (K, N, D): paths of a random sample of at most STAT_POINTS training
            points; the first ``drawn`` (at most DRAWN_PATHS) of them are the ones drawn.
        labels: (N,) classes of the sample.
        grid: the deformed grid of the plot box at the trajectory's times.
        mean_div: (K,) mean divergence over the sample.
        log_volume: (K, N) exact log|det dx(t)/dx(0)| of each sample path.
        cloud: (K,) Gaussian log-volume of the sample's cloud (-inf while it is flat).
        drawn: how many of the sample's paths the charts draw.
    """

    traj: Trajectory
    labels: np.ndarray
    grid: GridFlow
    mean_div: np.ndarray
    log_volume: np.ndarray
    cloud: np.ndarray
    drawn: int

    @property
    def drawn_traj(self) -> Trajectory:
        return Trajectory(t=self.traj.t, x=self.traj.x[:, : self.drawn])

    @property
    def drawn_labels(self) -> np.ndarray:
        return self.labels[: self.drawn]


def _compute(session: Session, extent: tuple[float, float, float, float]) -> Flow:
    """All analysis of the page for the session's current weights (memoised per version)."""
    data, model = session.data, session.model
    order = np.random.default_rng(SAMPLE_SEED).permutation(len(data.x_train))[:STAT_POINTS]
    x, labels = data.x_train[order], data.y_train[order]
    traj = trajectory(model, x)
    return Flow(
        traj=traj,
        labels=labels,
        grid=deformed_grid(model, extent, times=traj.t),
        mean_div=mean_divergence(model, traj),
        log_volume=log_volume_change(model, x, traj.t),
        cloud=cloud_log_volume(traj),
        drawn=min(DRAWN_PATHS, len(order)),
    )


def _intro(session: Session) -> None:
    st.markdown("## Trajectories")
    model = session.run.model
    if model.discrete:
        what = (
            f"A {FAMILY_NAMES[model.family]} moves every point of the plane in "
            f"{model.layers} steps, one per layer (layer l sits at time t = l·Δt, "
            f"Δt = T/L = {model.T / model.layers:.3g})."
        )
    else:
        what = "The network moves every point of the plane along a path from t = 0 to T."
    st.markdown(
        f"{what} The classifier only draws a straight line at the end, so the flow must untangle "
        "the classes first. An ODE flow is a **homeomorphism**: it can stretch and squeeze the "
        "plane (watch the grid) but never tear or fold it — which is why some problems need an "
        "extra dimension, or a coarse discrete net that is allowed to fold."
    )
    st.caption(
        f"{trained_summary(session)}. Train further in the Playground; this page follows the "
        "latest weights."
    )
    if session.diverged:
        notice(session.trainer.message)


def _animation_figure(session: Session, flow: Flow, extent) -> go.Figure:
    fig = flow_animation_figure(
        flow.drawn_traj, flow.drawn_labels, flow.grid, extent, max_points=DRAWN_PATHS, big=True
    )
    # Frame the points (grid lines that flow far out may leave the picture) and fill the column.
    fill_plane(fig, view_extent(flow.drawn_traj.x[..., :2], extent))
    value_label_right(fig)
    model = session.run.model
    if model.discrete:
        label_layer_frames(fig, flow.traj.t, model.T / model.layers)
    return fig


def _animation(session: Session, flow: Flow, extent) -> None:
    # Building the frames takes about a second: once per model version, not on every rerun.
    fig = memo(session, "traj_animation", lambda: _animation_figure(session, flow, extent))
    model = session.run.model
    left, right = st.columns([5, 2])
    with left:
        chart(fig, key="traj_animation", height=680)
    with right:
        st.markdown("#### What you see")
        bullets = [
            f"{flow.drawn} training points, coloured by class, and the lines of a square grid, "
            "all carried by the flow.",
            "Press **▶** or drag the slider below the picture; it plays in your browser.",
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
    if model.discrete:
        dt = model.T / model.layers
        return [round(layer * dt, 12) for layer in range(model.layers)], (
            lambda t: f"layer {round(t / dt)} (t = {t:.2f})"
        )
    return [round(float(t), 12) for t in np.linspace(0.0, model.T, FIELD_TIMES)], (
        lambda t: f"t = {t:.2f}"
    )


def _paths_tab(session: Session, flow: Flow, extent) -> None:
    options, label = _time_options(session)
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
    field = vector_field_grid(session.model, t, extent)
    paths = paths_figure(
        flow.drawn_traj,
        flow.drawn_labels,
        field=field,
        max_paths=DRAWN_PATHS,
        extent=extent,
        big=True,
    )
    k = int(np.abs(flow.traj.t - t).argmin())
    add_time_slice(paths, flow.traj.x[k, : flow.drawn], flow.drawn_labels, t=t, big=True)
    fill_plane(paths)
    if discrete:
        mark_layers(paths)
    coords = memo(session, "traj_coords", lambda: _coordinates_figure(session, flow))
    left, right = st.columns(2)
    with left:
        chart(paths, key="traj_paths", height=560)
    with right:
        chart(coords, key="traj_coords", height=560)


def _coordinates_figure(session: Session, flow: Flow) -> go.Figure:
    fig = coordinates_figure(flow.drawn_traj, flow.drawn_labels, max_paths=DRAWN_PATHS, big=True)
    return mark_layers(fig) if session.run.model.discrete else fig


def _paths_3d_figure(session: Session, flow: Flow) -> go.Figure:
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
        on_click=apply_run,
        args=(preset.run,),
        kwargs={"note": f"Loaded the lesson “{preset.title}”. {preset.what_to_look_at}"},
        help=preset.explanation,
    )


def _views_tab(session: Session, flow: Flow) -> None:
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


def _volume_tab(session: Session, flow: Flow) -> None:
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
        if np.isfinite(flow.cloud[0]):
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
    try:
        flow = memo(session, "traj_flow", lambda: _compute(session, extent))
    except SolverFailure:
        error(
            "The current weights make the ODE solver fail on these points, so the paths cannot "
            "be drawn. Press Reset in the Playground or relax the solver settings."
        )
        return
    _animation(session, flow, extent)
    # Lazy tabs: only the open tab is built and sent, which keeps the page within its chart
    # budget (at most three charts, two of them WebGL, at a time).
    tabs = st.tabs(TABS, key="traj_tab", on_change="rerun")
    for name, container in zip(TABS, tabs, strict=True):
        if not container.open:
            continue
        with container:
            if name == TABS[0]:
                _paths_tab(session, flow, extent)
            elif name == TABS[1]:
                _views_tab(session, flow)
            else:
                _volume_tab(session, flow)


_page()
