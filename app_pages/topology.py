"""Topology: why a 2-D ODE cannot separate a disk from the ring around it, and two ways out."""

from __future__ import annotations

import streamlit as st

from deqnet import PRESETS, SolverFailure
from deqnet.analysis.depth import accuracy
from deqnet.analysis.topology import (
    disk_and_ring_grid,
    final_states,
    linear_boundary,
    topology_snapshots,
)
from deqnet.figures import features_3d_figure
from deqnet.figures.topology import plane_snapshots_figure, snapshot_titles
from ui.lesson_models import (
    TOPOLOGY_LESSONS,
    LessonModel,
    lesson_models,
    train_lesson_models,
    view,
)
from ui.show import chart, error
from ui.state import get_session

MODELS = TOPOLOGY_LESSONS  # the server trains them as it starts (ui.warm_up)
TRAIN_SECONDS = 45.0  # time box for training the three models on one page run
GRID_LINES = 21  # lines of the square grid carried through the models
REGION_POINTS = 31  # grid of the disk and the ring whose images are drawn (about 480 points)
REGION_GRID = 121  # dense grid of the disk and the ring on which accuracy is judged
SNAPSHOTS = 5  # depths at which the planes are shown side by side


def _pictures(item: LessonModel) -> dict:
    """The picture and the numbers of one lesson model."""
    model, data = item.trainer.model, item.trainer.data
    dense_x, dense_y = disk_and_ring_grid(REGION_GRID)
    numbers = {
        "sample": accuracy(model, data.x_train, data.y_train),
        "region": accuracy(model, dense_x, dense_y),
    }
    if model.config.augment:
        final = final_states(model, data.x_train)
        figure = features_3d_figure(final, data.y_train, plane=linear_boundary(model), big=True)
        return {**numbers, "figure": figure}
    snap = topology_snapshots(model, SNAPSHOTS, region_points=REGION_POINTS, grid_lines=GRID_LINES)
    figure = plane_snapshots_figure(
        snap.states,
        snap.labels,
        snapshot_titles(snap.t, snap.layers),
        grid=snap.grid,
        turned=snap.turned,
        boundary=snap.boundary,
    )
    return {**numbers, "snapshots": snap, "figure": figure}


def _caption(name: str, item: LessonModel, shown: dict) -> str:
    steps = f"{item.steps_done}/{item.run.train.train_steps} training steps"
    scores = (
        f"accuracy {100 * shown['sample']:.0f} % on the training points, "
        f"**{100 * shown['region']:.1f} %** on a dense grid of the whole disk and ring"
    )
    if name == "rings-2d":
        return (
            f"{steps}; {scores}. det ∂x(T)/∂x(0) > 0 everywhere: nothing is turned over. A "
            f"flow only stretches (areas here grow up to {shown['snapshots'].stretch:.0f}×), so "
            "the disk can leave the ring only through a thin channel. Each panel is zoomed to "
            "its points: the number under it (↔) is its width."
        )
    if name == "rings-coarse-fold":
        snap = shown["snapshots"]
        return (
            f"{steps}; {scores}. With γΔt = 1, {100 * snap.turned_fraction:.0f} % of the region "
            "ends up turned over onto the rest (red rings: their paths have crossed their "
            f"neighbours'), and {100 * snap.crossed:.0f} % of the paths pass a layer with "
            "det ∂xₗ₊₁/∂xₗ ≤ 0 — no ODE can do either."
        )
    return (
        f"{steps}; {scores}. Final features in 3-D: one extra dimension lets a gentle flow lift "
        "the disk off the ring, and the classifier's plane (grey) separates them."
    )


def _model_panel(name: str, item: LessonModel) -> None:
    st.markdown(f"#### {PRESETS[name].title}")
    if item.steps_done == 0:
        st.caption("Not trained yet (the server was busy); open this page again.")
        return
    try:
        shown = view(item, _pictures)
    except SolverFailure:
        error("The solver failed on this model; open the page again to retrain it.")
        return
    height = 520 if item.run.model.augment else 380
    chart(shown["figure"], key=f"topo_{name}", height=height)
    st.caption(_caption(name, item, shown))


def _takeaway(models: dict[str, LessonModel]) -> None:
    st.markdown("#### What to take away")
    st.markdown(
        "- Dots: where a dense grid of the whole disk and ring ends up; grey lines: the image "
        "of the square around them; dashed: the classifier's straight line.\n"
        "- A flow never overlaps the plane with itself. A coarse network can: the red part "
        "lies folded over onto the rest, and its paths cross their neighbours'.\n"
        "- Judge on the **whole region**: a 2-D flow can score well on a finite sample by "
        "threading gaps between points, never on all of it.\n"
        "- h(y) = y − γΔt·y³ is monotone only for |y| < 1/√(3γΔt) — see the weights tab "
        "of Layers ↔ Time with a feed-forward model."
    )
    if not all(item.done for item in models.values()):
        st.button("Continue training", key="topo_more", icon=":material/play_arrow:")


def _page() -> None:
    st.markdown("## Topology: disk and ring")
    st.markdown(
        "**Why a 2-D ODE cannot separate a disk from the ring around it.** An ODE flow is a "
        "homeomorphism: it stretches and bends the plane but never tears or folds it, and the "
        "classifier at the end is a straight line. Three ways the lesson presets meet this: a "
        "2-D flow (squeezes the disk out through a gap), a coarse plain network with big steps "
        "(folds the plane: paths cross), and one extra dimension (lifts the disk out). These "
        "three models are the page's own; the sidebar's model is not used here."
    )
    # The demos are classification models of their own: with regression data, say so once.
    if get_session().data.task == "regression":
        st.info(
            "Topology's demos are about classes (a disk and a ring) and use their own data: "
            "your regression data set is not shown here.",
            icon=":material/info:",
        )
    models = lesson_models(MODELS)
    train_lesson_models(models, TRAIN_SECONDS, "Training the three lesson models")
    flow, fold = st.container(), st.container()
    bottom = st.columns(2)
    for name, place in zip(MODELS, (flow, fold, bottom[0]), strict=True):
        with place:
            _model_panel(name, models[name])
    with bottom[1]:
        _takeaway(models)


_page()
