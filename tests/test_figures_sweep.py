"""Figures of the Sweep page: one figure of R x C panels with shared axes; the metrics' texts."""

from __future__ import annotations

import numpy as np
import pytest

from deqnet import make_dataset
from deqnet.analysis import DecisionGrid
from deqnet.figures.style import class_color
from deqnet.figures.sweep import (
    METRICS,
    PANEL_POINTS,
    sweep_boundaries_figure,
)

EXTENT = (-2.0, 2.0, -1.5, 2.5)


def _grid(n: int, n_classes: int, shift: float) -> DecisionGrid:
    """Softmax of linear logits on an n x n grid of EXTENT (any valid probabilities will do)."""
    xs, ys = np.linspace(*EXTENT[:2], n), np.linspace(*EXTENT[2:], n)
    gx, gy = np.meshgrid(xs, ys)
    logits = np.stack([k * gx - shift * gy for k in range(n_classes)], axis=-1)
    probs = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
    return DecisionGrid(xs=xs, ys=ys, probs=probs)


def _panels(shape: tuple[int, int], n_classes: int = 2, n_points: int = 300):
    rows, cols = shape
    grids = [_grid(12, n_classes, 0.1 * i) for i in range(rows * cols)]
    name = "moons" if n_classes == 2 else "gaussians"
    data = make_dataset(name, n=n_points, noise=0.1, seed=0, n_classes=n_classes)
    titles = [f"cell {i}" for i in range(rows * cols)]
    return grids, [data] * (rows * cols), titles


@pytest.mark.parametrize("shape", [(2, 3), (4, 4), (3, 1)])
def test_one_figure_has_one_panel_per_cell_with_shared_fixed_axes(shape) -> None:
    rows, cols = shape
    grids, datasets, titles = _panels(shape)
    fig = sweep_boundaries_figure(grids, datasets, shape, titles, EXTENT)
    layout = fig.to_plotly_json()["layout"]
    xaxes = sorted(k for k in layout if k.startswith("xaxis"))
    yaxes = sorted(k for k in layout if k.startswith("yaxis"))
    assert len(xaxes) == len(yaxes) == rows * cols
    # Every panel has its own heatmap of P(class 1), on its own pair of axes.
    heat_axes = [(tr.xaxis, tr.yaxis) for tr in fig.data if tr.type == "heatmap"]
    assert len(set(heat_axes)) == len(heat_axes) == rows * cols
    for i, tr in enumerate(t for t in fig.data if t.type == "heatmap"):
        np.testing.assert_array_equal(tr.z, grids[i].probs[..., 1].astype(np.float32))
    # Shared: all x axes are one axis (matched to the same target), and so are all y axes.
    if rows * cols > 1:
        for axes in (xaxes, yaxes):
            targets = {layout[a].get("matches") for a in axes}
            unmatched = [a for a in axes if not layout[a].get("matches")]
            assert len(unmatched) == 1 and len(targets - {None}) == 1
    for a in xaxes:
        assert tuple(layout[a]["range"]) == EXTENT[:2]
    for a in yaxes:
        assert tuple(layout[a]["range"]) == EXTENT[2:]
    # Equal aspect on the axis every panel follows (plotly ignores it on matched axes).
    anchored = [a for a in yaxes if layout[a].get("scaleanchor")]
    assert len(anchored) == 1 and not layout[anchored[0]].get("matches")
    titles_shown = [a["text"] for a in layout["annotations"]]
    assert titles_shown == titles


def test_points_are_an_even_subsample_coloured_by_class() -> None:
    grids, datasets, titles = _panels((1, 2), n_classes=3, n_points=600)
    fig = sweep_boundaries_figure(grids, datasets, (1, 2), titles, EXTENT)
    images = [tr for tr in fig.data if tr.type == "image"]
    assert len(images) == 2  # more than two classes: the most-likely-class image
    markers = [tr for tr in fig.data if tr.type in ("scatter", "scattergl")]
    assert len(markers) == 2
    data = datasets[0]
    for tr in markers:
        x = np.stack([np.asarray(tr.x), np.asarray(tr.y)], axis=1)
        assert len(x) == min(PANEL_POINTS, data.n_train)
        rows = [int(np.argmin(np.abs(data.x_train - p).sum(axis=1))) for p in x]
        np.testing.assert_allclose(data.x_train[rows], x, atol=1e-6)
        labels = np.asarray(tr.marker.color)
        np.testing.assert_array_equal(labels, data.y_train[rows])
        # The stepped colour scale sends label k (on [cmin, cmax]) to class k's colour.
        scale = tr.marker.colorscale
        for k in range(data.n_classes):
            u = (k - tr.marker.cmin) / (tr.marker.cmax - tr.marker.cmin)
            inside = [
                c for (lo, c), (hi, _) in zip(scale[:-1], scale[1:], strict=True) if lo < u < hi
            ]
            assert inside == [class_color(k)]


def test_missing_grid_draws_an_empty_panel_and_selected_cell_is_outlined() -> None:
    grids, datasets, titles = _panels((2, 2))
    grids[1] = None
    fig = sweep_boundaries_figure(grids, datasets, (2, 2), titles, EXTENT, selected=3)
    on_panel_2 = [tr.type for tr in fig.data if (tr.xaxis, tr.yaxis) == ("x2", "y2")]
    assert on_panel_2 in (["scatter"], ["scattergl"])
    (outline,) = fig.layout.shapes
    assert (outline.xref, outline.yref) == ("x4 domain", "y4 domain")


def test_row_titles_go_beside_the_first_column() -> None:
    grids, datasets, titles = _panels((3, 2))
    fig = sweep_boundaries_figure(
        grids, datasets, (3, 2), titles, EXTENT, row_titles=["lr 0.01", "lr 0.1", "lr 1"]
    )
    shown = [fig.get_subplot(r, c).yaxis.title.text for r in (1, 2, 3) for c in (1, 2)]
    assert shown == ["lr 0.01", None, "lr 0.1", None, "lr 1", None]


def test_boundaries_need_one_grid_dataset_and_title_per_cell() -> None:
    grids, datasets, titles = _panels((2, 2))
    with pytest.raises(ValueError, match="2 x 2"):
        sweep_boundaries_figure(grids[:3], datasets[:3], (2, 2), titles[:3], EXTENT)


@pytest.mark.parametrize(
    ("key", "value", "text"),
    [
        ("test_acc", 0.974, "97%"),
        ("train_loss", 0.061, "0.061"),
        ("train_loss", 3.1e-4, "3e-4"),
        ("nfe", 12345.0, "12.3k"),
        ("seconds", 1.54, "1.5 s"),
    ],
)
def test_heatmap_values_are_short(key: str, value: float, text: str) -> None:
    metric = next(m for m in METRICS if m.key == key)
    assert metric.fmt(value) == text
