"""Momentum: back-propagation as a flow in phase space (x, a), its energy H and the live checks."""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING

import streamlit as st

from deqnet import Momentum
from deqnet.analysis import Check, plot_extent, run_checks
from deqnet.analysis.adjoint import energy_variation
from deqnet.analysis.phase_space import (
    rows_momentum,
    sample_momentum,
    segment_bounds,
    segments_at,
)
from deqnet.datasets import balanced_sample
from deqnet.figures.momentum import (
    adjoint_field_figure,
    energy_figure,
    energy_summary,
    momentum_paths_figure,
    phase_portraits_figure,
    pick_figure,
)
from deqnet.figures.style import colour_by_target, display_labels, output_range, target_colorbar
from deqnet.presets import PRESETS
from ui.show import (
    PLOTLY_CONFIG,
    chart,
    layer_label,
    page_intro,
    selected_indices,
    unless_solver_fails,
)
from ui.state import Session, apply_preset, ensure_trained, memo, memo_peek

if TYPE_CHECKING:
    import numpy as np
    import plotly.graph_objects as go

DEFAULT_POINTS = 6  # shown by default and measured by the checks: the classes taken in turn
MAX_POINTS = 12  # defaults plus picks
FIELD_POINTS = 1000  # training points in the adjoint field (a fixed sample if there are more)
SAMPLE_SEED = 0
PICK_HEIGHT = 460
RANDOM_PICKS = 6  # points drawn by the "Pick 6 points" button
RANDOM_ROWS = "mom_random_rows"  # the rows it drew, kept until the next draw or a clear
CHECKS_KEY = "mom_checks"  # the results, memoised per model version in the session
CHECKS_WANTED = "mom_checks_wanted"  # the model version the button asked to check
# Which preset shows each behaviour of H, by the model's time mode, and its button label.
ENERGY_PRESETS = {
    "autonomous": ("backprop-hamiltonian", "Flat H: tied weights"),
    "piecewise": ("time-breaks-energy", "Stepwise H: piecewise weights"),
    "time": ("time-input-drift", "Drifting H: F depends on t"),
}
ICONS = {"pass": ":green[✓]", "fail": ":red[✗]", "expected drift": ":orange[↗]"}


def _intro(session: Session) -> None:
    st.markdown("## Momentum")
    st.markdown(
        "The **momentum** a(t) = ∂ℓ/∂x(t) is the gradient of a point's loss with respect to its "
        "hidden state at depth t: back-propagation is the adjoint ODE −da/dt = a ∂F/∂x, solved "
        "backwards from a(T) = ∂ℓ/∂x(T). Forward x and backward a are Hamilton's equations with "
        "the **energy H = a·F**, which stays constant along every path when the weights do not "
        "depend on depth."
    )
    run = session.run.model
    if run.discrete:
        st.info(
            f"This is a discrete {run.family} network ({run.layers} layers, Δt = T/L = "
            f"{run.dt:.3g}). Here aₗ = ∂ℓ/∂xₗ is exactly what back-propagation "
            "computes layer by layer (the discrete adjoint), and the energy is the discrete "
            "Hₗ = aₗ₊₁·(xₗ₊₁ − xₗ)/Δt: the momentum after a layer times the layer's "
            "velocity. With tied weights it is conserved only up to O(Δt). The checks below "
            "test the exact identities on the ODE this network discretizes.",
            icon=":material/stacks:",
        )
    page_intro(session)


def _draw_random(n_rows: int) -> None:
    """Button callback: RANDOM_PICKS rows drawn at random replace the default points."""
    draw = random.SystemRandom().sample(range(n_rows), min(RANDOM_PICKS, n_rows))
    st.session_state[RANDOM_ROWS] = sorted(draw)
    st.session_state["mom_defaults"] = False


def _pick_points(session: Session, extent, defaults: np.ndarray) -> list[int]:
    """Draw the picking chart; the chosen rows: defaults (if kept), random draws and picks, at
    most 12."""
    data = session.data
    fig = memo(
        session,
        "mom_pick_fig",
        lambda: _with_colorbar(
            session,
            pick_figure(
                data.x_train, display_labels(data, data.y_train), defaults, extent=extent, big=True
            ),
        ),
        per_version=False,
    )
    st.markdown("#### Choose points")
    fig.update_layout(height=PICK_HEIGHT)
    event = st.plotly_chart(
        fig,
        key="mom_pick",
        theme=None,
        width="stretch",
        config=PLOTLY_CONFIG,
        on_select="rerun",
        selection_mode=("points", "box", "lasso"),
    )
    n_rows = len(data.x_train)
    drawn = [r for r in st.session_state.get(RANDOM_ROWS, []) if r < n_rows]
    buttons = st.columns(2)
    buttons[0].button(
        f"Pick {RANDOM_PICKS} points",
        key="mom_random",
        icon=":material/casino:",
        on_click=_draw_random,
        args=(n_rows,),
        help=f"Follow {RANDOM_PICKS} training points drawn at random (instead of the defaults).",
    )
    if drawn:
        buttons[1].button(
            "Clear the random points",
            key="mom_random_clear",
            on_click=st.session_state.pop,
            args=(RANDOM_ROWS, None),
        )
    if "mom_defaults" not in st.session_state:
        st.session_state["mom_defaults"] = True
    keep = st.checkbox("Also show the default points (ringed)", key="mom_defaults")
    picked = selected_indices(event, n_rows)
    chosen = list(dict.fromkeys([*(defaults.tolist() if keep else []), *drawn, *picked]))
    st.caption(
        f"Press **Pick {RANDOM_PICKS} points**, or click a point (shift-click for more), or use "
        "the box or lasso tool of the chart's toolbar; double-click to clear. At most "
        f"{MAX_POINTS} points are followed, numbered 1, 2, … in the charts on the right."
    )
    if len(chosen) > MAX_POINTS:
        st.caption(f"{len(chosen)} chosen: following the first {MAX_POINTS}.")
    return chosen[:MAX_POINTS] or defaults.tolist()


def _chosen_momentum(session: Session, rows: tuple[int, ...]) -> Momentum:
    """Momentum of the chosen training rows, memoised per model version and choice (one entry
    each in the size-bounded shared cache)."""
    return memo(
        session,
        f"mom_chosen:{','.join(map(str, rows))}",
        lambda: rows_momentum(session.model, session.data, rows, loss=session.run.train.loss),
    )


def _energy_chart(session: Session, mom: Momentum, labels: np.ndarray, numbers) -> None:
    run = session.run.model
    segments = segments_at(session.model, mom.t)
    variation = energy_variation(mom.H, segments)
    summary = energy_summary(
        variation, time_mode=run.time_mode, discrete=run.discrete, n_segments=run.n_segments
    )
    fig = energy_figure(
        mom.t,
        mom.H,
        labels,
        summary=summary,
        numbers=numbers,
        segments=segments,
        bounds=segment_bounds(session.model),
        discrete=run.discrete,
        big=True,
    )
    chart(fig, key="mom_energy", height=480)


def _preset_buttons(session: Session) -> None:
    """One-click presets showing the other behaviours of H (discrete: the exact ODE case)."""
    run = session.run.model
    if run.discrete:
        st.markdown("See the exact continuous case:")
        shown = [ENERGY_PRESETS["autonomous"]]
    else:
        st.markdown("Compare with:")
        shown = [v for mode, v in ENERGY_PRESETS.items() if mode != run.time_mode]
    for name, label in shown:
        preset = PRESETS[name]
        st.button(
            label,
            key=f"mom_preset_{name}",
            icon=":material/school:",
            help=f"Loads the lesson preset “{preset.title}” (rebuilds and trains the model).",
            on_click=apply_preset,
            args=(preset,),
        )


def _phase_and_energy(session: Session, mom: Momentum, labels: np.ndarray, numbers) -> None:
    run = session.run.model
    st.markdown("#### Phase space and energy")
    left, right = st.columns(2)
    with left:
        fig = phase_portraits_figure(mom, labels, numbers=numbers, discrete=run.discrete, big=True)
        chart(fig, key="mom_phase", height=620)
        extra = ""
        if run.augment:
            extra = f" (components 3–{run.dim} of the augmented state are not drawn)"
        st.caption(
            "Each point's path in the phase plane (xₖ, aₖ), from ○ at t = 0 to ● at t = T"
            f"{extra}. The momenta of different points differ by powers of ten, so aₖ is drawn "
            "on a logarithmic scale on both sides of 0 (linear close to 0). The joint flow of "
            "(x, a) keeps phase-space volume (Liouville)."
        )
    with right:
        _energy_chart(session, mom, labels, numbers)
        st.caption(
            "H = a·F per point, at the model's own solver steps. Relative change: peak-to-peak "
            "of H along a path ÷ its mean |H|, worst point. Flat for weights tied in depth, "
            "stepwise for piecewise weights (dotted lines: the switches), drifting when F "
            "depends on t."
        )
        _preset_buttons(session)


def _check_row(check: Check) -> None:
    icon, body, numbers = st.columns([0.4, 6, 2.2], vertical_alignment="center")
    icon.markdown(f"### {ICONS.get(check.status, '?')}")
    with body:
        st.markdown(f"**{check.name}**  \n{check.proves}")
        if check.note:
            st.caption(check.note)
    if not math.isfinite(check.error):
        numbers.markdown("not measured")
    elif check.status == "expected drift":
        numbers.markdown(f"change **{check.error:.3g}**  \nnot conserved here")
    else:
        sign = "≤" if check.passed else ">"
        numbers.markdown(f"error **{check.error:.1e}**  \n{sign} tolerance {check.tolerance:.0e}")


def _run_checks(session: Session) -> list[Check]:
    return run_checks(session.model, session.data, DEFAULT_POINTS)


def _request_checks(session: Session) -> None:
    st.session_state[CHECKS_WANTED] = session.version


@st.fragment
def _checks_panel(session: Session) -> None:
    st.markdown("#### Checks: the identities in numbers")
    checks = memo_peek(session, CHECKS_KEY)
    if checks is None and st.session_state.get(CHECKS_WANTED) == session.version:
        with st.spinner("Solving very accurately (a few seconds)…", show_time=True):
            checks = memo(session, CHECKS_KEY, lambda: _run_checks(session))
    if checks is None:
        st.markdown(
            "Measures, on your trained model: a(0) against autograd, H(T) against a finite "
            "difference of the loss in T, the (x, a) phase-volume determinant against 1 (and "
            "the x-only volume change), and the adjoint weight gradients against autograd."
        )
        st.button(
            "Run the checks",
            key="mom_run_checks",
            type="primary",
            on_click=_request_checks,
            args=(session,),
        )
        return
    passed = sum(c.status != "fail" for c in checks)
    where = "the ODE read from your network" if session.run.model.discrete else "your model"
    st.markdown(
        f"**{passed} of {len(checks)} hold** to the tolerance a correct solve reaches, measured "
        f"on {where} for the {DEFAULT_POINTS} ringed default points."
    )
    with st.expander("Details"):
        read = (
            "deqnet.continuize reads the network as an ODE; " if session.run.model.discrete else ""
        )
        st.markdown(
            f"{read}the checks run on a float64 copy, solved with dopri5 at rtol = atol = "
            "1e-10 (paper notes §7)."
        )
    for check in checks:
        with st.container(border=True):
            _check_row(check)


@st.fragment
def _adjoint_field(session: Session) -> None:
    """The adjoint field of the training points at one time, scrubbed with a slider."""
    data = session.data
    mom, labels = memo(session, "mom_field", lambda: _field_momentum(session))
    run = session.run.model
    options = list(range(len(mom.t)))
    if run.discrete:
        dt = run.dt

        def label(k: int) -> str:
            return layer_label(mom.t[k], dt)
    else:

        def label(k: int) -> str:
            return f"t = {mom.t[k]:.2f}"

    if st.session_state.get("mom_time") not in options:
        st.session_state["mom_time"] = options[0]  # the input plane: a(0) is dℓ/d(input)
    st.markdown("#### The adjoint field")
    left, right = st.columns([3, 2])
    with right:
        k = st.select_slider(
            "Time t", options, format_func=label, key="mom_time", help="Moves every arrow to t."
        )
        n = len(labels)
        total = len(data.x_train)
        sample = f"a fixed sample of {n} of the {total}" if n < total else f"all {n}"
        st.markdown(
            f"At x(t) of {sample} training points, an arrow along −a(t): the way each hidden "
            "state would have to move to lower its own loss. |a| spans several powers of ten, "
            "so every arrow has the same length and its shade gives |a| (one scale for all "
            "times): black arrows are the points that still matter to the loss, pale ones are "
            "points the model is already sure about."
        )
    with left, colour_by_target(data.task == "regression"):  # a fragment reruns alone
        fig = adjoint_field_figure(mom, labels, k, time_label=label(k), big=True)
        chart(fig, key="mom_field", height=560)


def _field_momentum(session: Session) -> tuple[Momentum, np.ndarray]:
    """The adjoint of a fixed sample of training points, and their labels as drawn."""
    mom, labels = sample_momentum(
        session.model, session.data, FIELD_POINTS, SAMPLE_SEED, loss=session.run.train.loss
    )
    return mom, display_labels(session.data, labels)


def _with_colorbar(session: Session, fig: go.Figure) -> go.Figure:
    """Regression: a colour bar of the targets the points are coloured by."""
    if session.data.task == "regression":
        target_colorbar(fig, output_range(session.data.y_all))
    return fig


def _chosen_panels(session: Session, extent, defaults: np.ndarray) -> None:
    """The picking chart, the chosen points' momentum along their paths, phase space and H."""
    left, right = st.columns([2, 3])
    with left:
        rows = tuple(_pick_points(session, extent, defaults))
    mom = _chosen_momentum(session, rows)
    labels = display_labels(session.data, session.data.y_train[list(rows)])
    numbers = [str(i + 1) for i in range(len(rows))]
    with right:
        st.markdown("#### Momentum along the paths")
        discrete = session.run.model.discrete
        fig = momentum_paths_figure(mom, labels, numbers=numbers, discrete=discrete, big=True)
        _with_colorbar(session, fig)
        chart(fig, key="mom_paths", height=560)
        st.caption(
            "Paths x(t) of the chosen points, numbered 1, 2, … at their start, with arrows "
            "−a(t): the direction that would lower each point's loss fastest. |a| differs by "
            "powers of ten between points, so an arrow grows by the same step for every factor "
            "10 of |a|; the two key arrows at the top show the largest |a| and 100 times less."
        )
    _phase_and_energy(session, mom, labels, numbers)


def _page() -> None:
    session = ensure_trained()
    _intro(session)
    extent = memo(session, "mom_extent", lambda: plot_extent(session.data), per_version=False)
    defaults = memo(
        session,
        "mom_default_rows",
        lambda: balanced_sample(session.data.y_train, DEFAULT_POINTS),
        per_version=False,
    )
    # A failure on the chosen points skips the rest of the page, as nothing below can be solved.
    regression = session.data.task == "regression"
    with unless_solver_fails("the momentum cannot be computed"), colour_by_target(regression):
        _chosen_panels(session, extent, defaults)
        _checks_panel(session)
        with unless_solver_fails("the adjoint field cannot be drawn"):
            _adjoint_field(session)


_page()
