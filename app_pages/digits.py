"""Digits: a near-identity convolutional network on handwritten digits is an ODE (notes §5–6)."""

from __future__ import annotations

import streamlit as st

from deqnet.digits.analysis import (
    confusion_matrix,
    convergence,
    depth_maps,
    predict_digit,
)
from deqnet.digits.models import DigitsConfig
from deqnet.figures.digits import (
    activation_strips_figure,
    confusion_figure,
    convergence_figure,
    hamiltonian_figure,
    momentum_strips_figure,
    probabilities_figure,
    thumbnails_figure,
)
from deqnet.models.base import SolverFailure
from ui.digits_state import DigitsSession, digits_session, memo, reset, summary, train
from ui.show import chart, error, notice

CONVERGENCE_IMAGES = 8  # test digits the convergence study measures (the worst one counts)
CHANNELS = (1, 2, 4, 8)
LAYERS = (5, 10, 20, 40)
GAMMAS = (0.0, 0.1, 0.5, 1.0)


def _intro() -> None:
    st.markdown("## Digits")
    st.markdown(
        "A plain convolutional network with **no skip connections**, "
        "xₗ₊₁ = h(Wₗ ∗ xₗ + Bₗ), whose 3×3 kernels stay close to the identity kernel "
        "(Wₗ − I = Δt wₗ) and whose activation is almost a straight line (h(y) = y − γΔt y³), "
        "is a discretisation of the ODE dx/dt = w ∗ x + b − γx³ — the paper's equation with a "
        "convolution in place of the matrix. Train one on scikit-learn's 8×8 digits, then watch "
        "a digit flow through its layers next to the ODE, and its momentum flow back."
    )


def _controls() -> DigitsConfig:
    cols = st.columns(4)
    channels = cols[0].select_slider(
        "Channels C",
        CHANNELS,
        value=4,
        key="digits_channels",
        help="Channels of the hidden image; the digit fills channel 0, the others start at 0.",
    )
    layers = cols[1].select_slider(
        "Layers L", LAYERS, value=10, key="digits_layers", help="Δt = T / L with T = 1."
    )
    gamma = cols[2].select_slider(
        "γ", GAMMAS, value=0.1, key="digits_gamma", help="Strength of the nonlinearity −γx³."
    )
    tied = cols[3].toggle(
        "Tied weights",
        value=True,
        key="digits_tied",
        help="One kernel for every layer (an autonomous ODE, H conserved); off: one per layer.",
    )
    return DigitsConfig(channels=channels, layers=layers, gamma=gamma, tied=tied)


def _training(session: DigitsSession) -> None:
    left, middle, right = st.columns([1, 1, 4], vertical_alignment="center")
    pressed = left.button(
        "Train",
        key="digits_train",
        type="primary",
        icon=":material/play_arrow:",
        disabled=session.trainer.budget_reached or session.diverged,
        help=f"Adam, {session.train.train_steps} mini-batch steps (a few seconds).",
    )
    if middle.button("Reset", key="digits_reset", icon=":material/restart_alt:"):
        reset(session)
        st.rerun()
    if pressed:
        bar = right.progress(0.0, text="Training…")
        train(session, lambda fraction, text: bar.progress(min(fraction, 1.0), text=text))
        st.rerun()  # draw the page, its buttons included, for the trained weights
    right.caption(summary(session))
    if session.diverged:
        notice(session.trainer.message)


def _pick(session: DigitsSession) -> int:
    """The digit picker (the first test image of each digit 0–9); returns its test index."""
    data = session.data
    shown = data.first_test_of_each_digit()
    # Open on the digit the net is least sure of: a digit it is sure of has almost no loss, so
    # almost no momentum to watch flow back.
    sure = memo(
        session,
        "digits_sure",
        lambda: [predict_digit(session.model, data.x_test[i]).probabilities[k] for k, i in
                 enumerate(shown)],
    )  # fmt: skip
    least_sure = min(range(len(shown)), key=sure.__getitem__)
    st.markdown("#### Choose a test digit")
    fig = thumbnails_figure(
        data.x_test[shown],
        data.y_test[shown],
        selected=st.session_state.get("digits_pick", least_sure),
    )
    chart(fig, key="digits_thumbs", height=150)
    digit = st.segmented_control(
        "Test digit",
        list(range(len(shown))),  # position k shows the digit k
        default=least_sure,
        key="digits_pick",
        label_visibility="collapsed",
        required=True,
    )
    return shown[int(digit if digit is not None else least_sure)]


def _prediction(session: DigitsSession, index: int) -> None:
    data = session.data
    prediction = memo(
        session, f"pred_{index}", lambda: predict_digit(session.model, data.x_test[index])
    )
    truth = int(data.y_test[index])
    left, right = st.columns([1, 3])
    left.metric(
        "Predicted",
        str(prediction.digit),
        f"probability {100 * prediction.probability:.1f} %",
        delta_color="off",
        delta_arrow="off",
    )
    left.markdown(f"True digit: **{truth}**" + ("" if truth == prediction.digit else "  (wrong)"))
    with right:
        chart(probabilities_figure(prediction), key="digits_probs", height=220)


def _gap(net, ode) -> str:
    """The largest difference of two (L + 1, C, 8, 8) arrays relative to the net's largest
    value, as a percentage."""
    return f"{100 * float(abs(net - ode).max()) / max(float(abs(net).max()), 1e-30):.0f} %"


def _depth(session: DigitsSession, index: int) -> None:
    data = session.data
    maps = memo(
        session,
        f"maps_{index}",
        lambda: depth_maps(session.model, data.x_test[index], int(data.y_test[index])),
    )
    st.markdown("#### The digit flowing through the layers")
    chart(
        activation_strips_figure(maps),
        key="digits_activations",
        height=140 + 70 * 2 * session.config.channels,
    )
    st.caption(
        "Each channel's map after layer l (net) and the ODE's solution at the same time "
        "t = l·Δt (ODE), on one colour scale. Small kernels near the identity change the maps "
        "gradually from layer to layer; the two rows differ by O(Δt) — here by "
        f"{_gap(maps.x_net, maps.x_ode)} of the largest value, less with more layers."
    )
    st.markdown("#### Its momentum flowing back")
    chart(
        momentum_strips_figure(maps),
        key="digits_momentum",
        height=160 + 70 * 2 * session.config.channels,
    )
    st.caption(
        "a = ∂ℓ/∂x, the gradient of this digit's loss (for its true label) with respect to each "
        "hidden map: back-propagation through the layers (net) and the adjoint ODE solved "
        "backwards from t = T (ODE). Red: making the value larger raises the loss. At layer 0 "
        "it is the saliency map of the input. Net and ODE differ here by "
        f"{_gap(maps.a_net, maps.a_ode)} of the largest value: the momentum carries the "
        "states' O(Δt) difference and the softmax's, which is largest in relative terms for a "
        "digit the net is sure of (its loss, and so its momentum, is tiny). The page opens on "
        "the digit it is least sure of; with more layers L both rows agree better."
    )
    left, right = st.columns(2)
    with left:
        st.markdown("#### Energy H = a·F along depth")
        chart(hamiltonian_figure(maps), key="digits_energy", height=380)
        kind = (
            "flat: the weights are tied, so the ODE is autonomous"
            if session.config.tied
            else ("constant within a layer's segment and jumping between them: untied weights")
        )
        st.caption(f"H of the ODE is {kind}. The net's discrete H is conserved only up to O(Δt).")
    with right:
        st.markdown("#### Net → ODE as the layers get thinner")
        conv = memo(
            session,
            "convergence",
            lambda: convergence(session.model, data.x_test[:CONVERGENCE_IMAGES]),
        )
        chart(convergence_figure(conv), key="digits_convergence", height=380)
        st.caption(
            "The trained net's ODE discretized again with L layers at the same T: how far the "
            f"L-layer output lies from the ODE's x(T), worst of {CONVERGENCE_IMAGES} test "
            "digits. First order: twice the layers, half the error (slope −1)."
        )


def _confusion(session: DigitsSession) -> None:
    data = session.data
    counts = memo(
        session, "confusion", lambda: confusion_matrix(session.model, data.x_test, data.y_test)
    )
    st.markdown("#### Test set: true digit against prediction")
    left, right = st.columns([3, 2])
    with left:
        chart(confusion_figure(counts), key="digits_confusion", height=520)
    right.caption(
        f"{len(data.y_test)} test digits the network never trained on. Row: the true digit; "
        "column: the network's answer. A trained network puts almost everything on the "
        "diagonal; the cells off it show which digits it confuses (often 1 with 8, 3 with 9)."
    )


_intro()
config = _controls()
session = digits_session(config)
_training(session)
try:
    index = _pick(session)
    _prediction(session, index)
    _depth(session, index)
except SolverFailure:
    error(
        "The ODE solver failed on these weights, so the maps along depth cannot be drawn. "
        "Press Reset, or choose a smaller γ."
    )
    st.stop()
_confusion(session)
