"""Layers ↔ Time: a network's layers land on the ODE's paths and converge to them as L grows."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from deqnet import PRESETS, ModelConfig, SolverFailure
from deqnet.analysis import (
    accuracy_versus_layers,
    activation_curve,
    convergence_layers,
    convergence_study,
    layer_paths,
    layer_weights,
    network_of,
    reference_ode,
    valid_layers,
)
from deqnet.analysis.depth import ACCURACY_LAYERS, accuracy
from deqnet.datasets import balanced_sample
from deqnet.figures.depth import (
    convergence_figure,
    depth_accuracy_figure,
    layer_time_figure,
    layers_on_path_figure,
    paths_to_number,
)
from deqnet.figures.identity import activation_figure, layer_weights_figure
from deqnet.figures.style import colour_by_target, display_labels
from ui.information import information_panel
from ui.show import chart, error, notice, solver_failure, unless_solver_fails
from ui.state import Session, apply_preset, ensure_trained, memo, trained_summary

if TYPE_CHECKING:
    import numpy as np

LAYER_CHOICES = (1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100, 120, 160, 200)
PATH_POINTS = 40  # paths drawn on the overlay (a fixed, class-balanced sample of training points)
STUDY_POINTS = 64  # points of the convergence study
SAMPLE_SEED = 0
TABS = ("Layers on the path", "Convergence as L grows", "Weights near the identity", "Information")
FAMILY_WORDS = {
    "node": "neural ODE",
    "ruseckas": "ODE of the paper's form (P1)",
    "resnet": "ResNet",
    "feedforward": "plain feed-forward network",
}
REVERSE_PRESET = "feedforward-near-identity"


def _intro(session: Session) -> None:
    st.markdown("## Layers ↔ Time")
    run = session.run.model
    st.markdown(
        "Layer l of an L-layer network sits at time **tₗ = l·Δt**, **Δt = T/L**. A ResNet layer "
        "xₗ₊₁ = xₗ + Δt·F(xₗ) is one Euler step of dx/dt = F(x); a plain layer h(Wₗxₗ + Bₗ) with "
        "Wₗ = I + Δt·wₗ, h(y) = y − γΔt·y³ is one step of the paper's dx/dt = w x + b − γx³. As L "
        "grows the layers land on the ODE's paths."
    )
    trained = f"{trained_summary(session)}; this page follows the latest weights."
    if run.discrete:
        read = (
            "w = (W − I)/Δt and b = B/Δt"
            if run.family == "feedforward"
            else "its blocks as the velocity field"
        )
        st.info(
            f"**The reverse direction.** Your {run.layers}-layer {FAMILY_WORDS[run.family]} read "
            f"as an ODE ({read}), solved accurately. At L = {run.layers} the "
            "dots are your network's own layers; other L cut the same ODE into more or fewer "
            f"layers. {trained}",
            icon=":material/swap_horiz:",
        )
    else:
        target = "ResNet" if run.family == "node" else "plain feed-forward"
        st.caption(
            f"Your {FAMILY_WORDS[run.family]}, cut into L {target} layers with the same "
            f"parameters; its paths solved very accurately. {trained}"
        )
        with st.expander("Details"):
            st.markdown(
                "The layers come from `deqnet.discretize`; the ODE's paths are solved in "
                "float64 with dopri5 at rtol = atol = 1e-10."
            )
    if session.diverged:
        notice(session.trainer.message)


def _layer_options(session: Session) -> list[int]:
    run = session.run.model
    options = {*LAYER_CHOICES, run.n_segments}
    if run.discrete:
        options.add(run.layers)
    return sorted(valid_layers(session.model, options))


def _default_layers(run: ModelConfig, options: list[int]) -> int:
    if run.discrete:
        return run.layers
    return next(n for n in options if n >= max(10, run.n_segments))


def _choose_layers(session: Session) -> int:
    run = session.run.model
    options = _layer_options(session)
    # A new model (not new weights) starts at its own L, or 10 for an ODE.
    if st.session_state.get("layers_for") != run or st.session_state.get("layers_L") not in options:
        st.session_state["layers_L"] = _default_layers(run, options)
        st.session_state["layers_for"] = run

    def label(n: int) -> str:
        return f"{n} (your network)" if run.discrete and n == run.layers else str(n)

    return st.select_slider(
        "Cut the ODE into L layers",
        options,
        format_func=label,
        key="layers_L",
        help="Cut the ODE into this many layers (Δt = T/L). Charts follow at once.",
    )


def _sample(session: Session, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A fixed, class-balanced sample of at most n training points: x (n, 2), labels (n,)."""
    data = session.data
    rows = balanced_sample(data.y_train, n, seed=SAMPLE_SEED)
    return data.x_train[rows], data.y_train[rows]


def _per_layers(session: Session, name: str, layers: int, compute):
    """``compute()`` memoised per model version and L (one entry each: never mutated)."""
    return memo(session, f"{name}:L={layers}", compute)


def _headline(session: Session, layers: int, paths, columns) -> None:
    run = session.run.model
    data = session.data
    ode_acc = memo(
        session,
        "layers_ode_acc",
        lambda: accuracy(reference_ode(session.model), data.x_train, data.y_train),
    )
    net_acc = _per_layers(
        session,
        "layers_net_acc",
        layers,
        lambda: accuracy(network_of(session.model, layers), data.x_train, data.y_train),
    )
    columns[0].metric("Step Δt = T/L", f"{run.T / layers:.3g}")
    columns[1].metric(
        "Gap: last layer to x(T)",
        f"{float(paths.gap[-1].mean()):.2g}",
        help="Distance ‖xₗ − x(T)‖ between the last layer (l = L) and the end of the ODE path, "
        "mean over the drawn points.",
    )
    if data.task == "regression":
        columns[2].metric("Train R²: network | ODE", f"{net_acc:.3f} | {ode_acc:.3f}")
    else:
        columns[2].metric(
            "Train accuracy: network | ODE",
            f"{100 * net_acc:.1f} % | {100 * ode_acc:.1f} %",
        )


def _paths_tab(session: Session, layers: int, paths, labels: np.ndarray) -> None:
    labels = display_labels(session.data, labels)  # regression: target bands
    numbered = paths_to_number(paths, labels)
    overlay = layers_on_path_figure(paths, labels, numbered=numbered)
    timeline = layer_time_figure(paths, labels, numbered=numbered)
    left, right = st.columns([3, 2])
    with left:
        chart(overlay, key="layers_overlay", height=620)
    with right:
        chart(timeline, key="layers_timeline", height=620)
    st.caption(
        f"{len(labels)} training points. Lines: the ODE paths x(t); dots: the layer states xₗ "
        f"of the {layers}-layer network, numbered along {len(numbered)} paths (the paper's "
        "figure); rings: x(T). Right: the first coordinate against depth, each layer at its "
        "time tₗ = l·Δt, and how far each layer is from its path. Move L and watch the dots "
        "close in."
    )
    if session.run.model.continuous:
        st.markdown(
            "**The reverse direction.** The paper also reads a trained plain network whose "
            "weights stay near I as an ODE, with w = (W − I)/Δt. Load one and this page does so:"
        )
        _preset_button(REVERSE_PRESET, "reverse")


def _convergence_tab(session: Session, layers: int) -> None:
    model = session.model
    data = session.data
    counts = convergence_layers(model)
    # Per model version, not per L: the dotted line marks the chosen L on fixed curves.
    own = {session.run.model.layers} if session.run.model.discrete else set()
    acc_counts = sorted({*valid_layers(model, ACCURACY_LAYERS), *counts, *own})
    with st.spinner(
        f"Solving the ODE very accurately and cutting it into {counts[0]} … {counts[-1]} layers…"
    ):
        x, y = _sample(session, STUDY_POINTS)
        study = memo(
            session,
            "layers_convergence",
            lambda: convergence_study(model, x, y, counts, loss=session.run.train.loss),
        )
        depth = memo(
            session, "layers_accuracy", lambda: accuracy_versus_layers(model, data, acc_counts)
        )
    left, right = st.columns(2)
    with left:
        st.markdown("#### Errors shrink like 1/L")
        chart(convergence_figure(study, chosen=layers), key="layers_convergence", height=520)
        st.caption(
            f"Mean over {len(y)} training points, against a very accurate ODE solve. "
            "States: last layer against x(T). Adjoint: back-propagation's a₀ = ∂ℓ/∂x₀ through "
            "the layers against the adjoint ODE's a(0). Slope −1 on log-log axes: twice the "
            "layers, half the error (Euler is first order)."
        )
    with right:
        r2 = session.data.task == "regression"
        st.markdown(f"#### {'R²' if r2 else 'Accuracy'} against L")
        fig = depth_accuracy_figure(depth, chosen=layers, r2=r2)
        chart(fig, key="layers_accuracy", height=520)
        st.caption(
            "The same weights cut into L layers. Coarse nets (few, big steps) can behave quite "
            "differently from the ODE; fine ones classify like it."
        )


def _weights_tab(session: Session, layers: int, x: np.ndarray) -> None:
    run = session.run.model
    net = _per_layers(session, "layers_net", layers, lambda: network_of(session.model, layers))
    weights = _per_layers(session, "layers_weights", layers, lambda: layer_weights(net, x))
    left, right = st.columns(2)
    with left:
        st.markdown("#### How far each layer is from the identity")
        chart(layer_weights_figure(weights), key="layers_weights", height=560)
        if weights.kind == "jacobian":
            st.caption(
                "A ResNet block has no single weight matrix, so this is the layer map's "
                "Jacobian ∂xₗ₊₁/∂xₗ = I + Δt·∂F/∂x, averaged over the data. It is close to I "
                "because Δt is small: double L and it halves."
            )
        else:
            st.caption(
                "Wₗ − I = Δt·wₗ: a plain layer is a small step away from the identity, and the "
                "weights w = (W − I)/Δt are the ODE's. Double L and every bar halves."
            )
    with right:
        st.markdown("#### The activation h(y) against the identity")
        if run.family in ("ruseckas", "feedforward"):
            curve = _per_layers(session, "layers_curve", layers, lambda: activation_curve(net, x))
            chart(activation_figure(curve), key="layers_activation", height=560)
            st.caption(
                "h(y) = y − γΔt·y³ is monotone only for |y| < 1/√(3γΔt). Inside it the layer "
                "is invertible, like an ODE step; beyond it (red) h turns back, and the layer "
                "can fold the plane (see the Topology page). Fewer layers: bigger Δt, the limit "
                "moves in."
            )
        else:
            st.info(
                "A ResNet layer has no activation close to the identity: its nonlinearity sits "
                "inside the block, and the layer is near I only because of the small factor Δt. "
                "The paper's point is that even a *plain* net x → h(Wx + B), without a skip "
                "connection, is an ODE step when W ≈ I and h ≈ id.",
                icon=":material/info:",
            )
            _preset_button(REVERSE_PRESET, "weights")


def _preset_button(name: str, where: str) -> None:
    preset = PRESETS[name]
    st.button(
        f"Show me: {preset.title}",
        key=f"layers_{where}_{name}",
        icon=":material/school:",
        on_click=apply_preset,
        args=(preset,),
    )


def _page() -> None:
    session = ensure_trained()
    _intro(session)
    slider, *numbers = st.columns([4, 2, 2, 3], vertical_alignment="bottom")
    with slider:
        layers = _choose_layers(session)
    x, labels = _sample(session, PATH_POINTS)
    try:
        paths = _per_layers(
            session, "layers_paths", layers, lambda: layer_paths(session.model, x, layers)
        )
    except SolverFailure:
        error(solver_failure("the layers cannot be compared with the ODE"))
        return
    _headline(session, layers, paths, numbers)
    tabs = st.tabs(TABS, key="layers_tab", on_change="rerun")
    for name, container in zip(TABS, tabs, strict=True):
        if not container.open:
            continue
        regression = session.data.task == "regression"
        with (
            container,
            unless_solver_fails("this view cannot be drawn"),
            colour_by_target(regression),
        ):
            if name == TABS[0]:
                _paths_tab(session, layers, paths, labels)
            elif name == TABS[1]:
                _convergence_tab(session, layers)
            elif name == TABS[2]:
                _weights_tab(session, layers, x)
            else:
                information_panel(session, key="layers_information")


_page()
