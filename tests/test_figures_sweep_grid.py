"""The one-metric sweep grid: values where the array has them, hatched placeholders where it has
NaN, the axes' labels as tick texts, row 0 at the top."""

from __future__ import annotations

import math

import numpy as np
import pytest

from deqnet.figures.sweep import METRICS
from deqnet.figures.sweep_grid import TEXT_CELLS, grid_height, sweep_grid_figure

ACCURACY = next(m for m in METRICS if m.key == "test_acc")
NAN = math.nan


def _figure(values, rows=("node", "resnet"), cols=("2", "5", "10"), **kw):
    return sweep_grid_figure(
        np.array(values, dtype=float),
        list(rows),
        list(cols),
        metric=kw.pop("metric", ACCURACY),
        row_title="model",
        col_title=kw.pop("col_title", "L"),
        **kw,
    )


def _labels(fig):
    """The placeholders' text trace (after the heatmap and the hatched squares)."""
    return next(tr for tr in fig.data if tr.type == "scatter" and tr.mode == "text")


def _placeholder_cells(fig) -> set[tuple[int, int]]:
    labels = _labels(fig)
    return {(int(i), int(j)) for j, i in zip(labels.x, labels.y, strict=True)}


def test_a_partly_finished_grid_shows_its_values_and_placeholders_for_the_rest() -> None:
    # The first stack (row 0) has finished; the second is still training.
    fig = _figure([[0.9, 0.85, 0.5], [NAN, NAN, NAN]])
    heat = fig.data[0]
    assert heat.type == "heatmap"
    assert heat.text[0].tolist() == ["90%", "85%", "50%"] and heat.text[1].tolist() == [""] * 3
    assert np.isnan(np.asarray(heat.z[1], dtype=float)).all()  # a gap under the placeholders
    assert _placeholder_cells(fig) == {(1, 0), (1, 1), (1, 2)}
    labels = _labels(fig)
    assert set(labels.text) == {"…"} and set(labels.hovertext) == {"still training"}
    squares = fig.data[1]
    assert squares.fill == "toself"
    assert squares.fillpattern.shape == "/"  # hatched
    assert sum(v is None for v in squares.x) == 3  # one closed square per pending cell


def test_axes_carry_the_labels_with_row_0_at_the_top() -> None:
    fig = _figure([[0.9, NAN, 0.5], [0.1, 0.2, NAN]])
    assert list(fig.layout.xaxis.ticktext) == ["2", "5", "10"]
    assert list(fig.layout.yaxis.ticktext) == ["node", "resnet"]
    assert list(fig.layout.xaxis.tickvals) == [0, 1, 2]
    assert fig.layout.yaxis.range[0] > fig.layout.yaxis.range[1]  # reversed: row 0 on top
    assert fig.layout.xaxis.title.text == "L" and fig.layout.yaxis.title.text == "model"
    assert fig.data[0].hovertext[0][0] == "model node · L 2<br>Test accuracy: 90%"
    assert fig.layout.height == grid_height(2)


def test_a_full_grid_has_no_placeholders_and_marks_diverged_cells() -> None:
    diverged = np.array([[False, False, True], [False, False, False]])
    fig = _figure([[0.9, 0.8, 0.5], [0.1, 0.2, 0.3]], diverged=diverged)
    assert _placeholder_cells(fig) == set()
    assert fig.data[0].text[0][2] == "50%<br>diverged"


def test_an_empty_grid_is_all_placeholders_with_the_given_text() -> None:
    fig = _figure([[NAN] * 3] * 2, placeholder="–", placeholder_hover="not in this file")
    assert len(_placeholder_cells(fig)) == 6
    labels = _labels(fig)
    assert set(labels.text) == {"–"} and set(labels.hovertext) == {"not in this file"}


def test_lower_is_better_metrics_reverse_the_colours_and_one_axis_is_one_column() -> None:
    loss = next(m for m in METRICS if m.key == "train_loss")
    fig = _figure([[0.3], [0.02]], cols=[""], metric=loss, col_title="")
    assert fig.data[0].reversescale is True
    assert fig.data[0].text.tolist() == [["0.3"], ["0.02"]]
    assert fig.data[0].hovertext[1][0] == "model resnet<br>Final training loss: 0.02"


def test_big_grids_print_no_values_and_mismatched_labels_are_refused() -> None:
    side = math.isqrt(TEXT_CELLS) + 1
    labels = [str(k) for k in range(side)]
    fig = _figure(np.full((side, side), 0.5), rows=labels, cols=labels)
    assert fig.data[0].text is None and fig.layout.height == grid_height(side)
    with pytest.raises(ValueError, match="do not match"):
        _figure([[0.5, 0.5]])


def test_a_pickable_grid_carries_each_cells_index_and_outlines_the_chosen_one() -> None:
    fig = _figure([[0.9, 0.8, 0.5], [0.1, 0.2, 0.3]], selected=(1, 2), pickable=True)
    markers = fig.data[-1]
    assert markers.mode == "markers" and fig.layout.clickmode == "event+select"
    # Cell (i, j) sits at x = j, y = i and carries the row-major index i * C + j.
    for x, y, index in zip(markers.x, markers.y, markers.customdata, strict=True):
        assert divmod(int(index), 3) == (y, x)
    assert (
        markers.hovertext[5]
        == "model resnet · L 10<br>Test accuracy: 30%<br>click to pick this cell"
    )
    (outline,) = fig.layout.shapes
    assert (outline.x0, outline.x1, outline.y0, outline.y1) == (1.5, 2.5, 0.5, 1.5)
    plain = _figure([[0.9, 0.8, 0.5], [0.1, 0.2, 0.3]])
    assert all(tr.mode != "markers" for tr in plain.data[1:]) and not plain.layout.shapes
