"""In-place chart updates: applying an update to the figure of state A gives the figure of state B.

The browser component (ui/live_chart.js) applies these updates to figures the builders made
once; here the same application is done in Python, and the result is compared with the figure
the builder makes for the new state directly.
"""

from __future__ import annotations

import numpy as np
import pytest

import deqnet
from deqnet.figures import boundary_figure, curves_figure, paths_preview_figure
from deqnet.figures.live import (
    PROBABILITY_LEVELS,
    boundary_update,
    curves_extension,
    decode_array,
    encode_array,
    preview_update,
)


def _trained(name: str, steps: int, n_classes: int = 2):
    data = deqnet.make_dataset(name, n=120, noise=0.1, seed=0, n_classes=n_classes)
    model = deqnet.build_model(deqnet.ModelConfig(width=8, steps=4), data.n_classes, seed=0)
    trainer = deqnet.Trainer(model, data, deqnet.TrainConfig(lr=0.05))
    trainer.step(steps)
    return data, model, trainer


def _array(value) -> np.ndarray:
    """A figure's array as numpy (plotly.py keeps numpy arrays or typed-array dicts)."""
    if isinstance(value, dict):
        return decode_array({**value, "b64": value["bdata"], "scale": 1.0})
    return np.asarray(value)


def test_arrays_round_trip_through_the_wire_format() -> None:
    values = np.array([[0.0, np.nan], [-1.5, 3.25e-7]], dtype=np.float32)
    np.testing.assert_array_equal(decode_array(encode_array(values)), values)
    image = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
    np.testing.assert_array_equal(decode_array(encode_array(image)), image)
    probs = np.random.default_rng(0).random((7, 5))
    back = decode_array(encode_array(probs, probability=True))
    assert back.shape == (7, 5)
    assert np.abs(back - probs).max() <= 0.5 / PROBABILITY_LEVELS + 1e-12
    assert encode_array(probs, probability=True)["dtype"] == "u1"


@pytest.mark.parametrize(("name", "n_classes", "discretize"), [
    ("moons", 2, False), ("moons", 2, True), ("gaussians", 3, False),
])  # fmt: skip
def test_boundary_update_turns_the_old_figure_into_the_new_one(
    name: str, n_classes: int, discretize: bool
) -> None:
    data, model, trainer = _trained(name, 0, n_classes)
    extent = deqnet.analysis.plot_extent(data)
    before = deqnet.analysis.decision_grid(model, extent, n=24)
    old = boundary_figure(before, data, discretize=discretize, extent=extent)
    trainer.step(15)
    after = deqnet.analysis.decision_grid(model, extent, n=24)
    new = boundary_figure(after, data, discretize=discretize, extent=extent)
    updates = boundary_update(after, discretize)
    assert [u["trace"] for u in updates] == list(range(len(updates)))
    tolerance = 0.5 / PROBABILITY_LEVELS + 1e-6 if n_classes == 2 else 0
    for update in updates:
        want = _array(new.data[update["trace"]].z).astype(np.float64)
        had = _array(old.data[update["trace"]].z).astype(np.float64)
        got = decode_array(update["value"]).astype(np.float64)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=tolerance, rtol=0)
        assert np.abs(had - want).max() > 10 * tolerance  # the update had work to do
    # Everything else of the figure (points, axes) is the same in both states.
    for i in range(len(updates), len(new.data)):
        np.testing.assert_array_equal(_array(old.data[i].x), _array(new.data[i].x))
    assert old.layout.xaxis.range == new.layout.xaxis.range


def test_preview_update_turns_the_old_paths_into_the_new_ones() -> None:
    data, model, trainer = _trained("moons", 0)
    extent = deqnet.analysis.plot_extent(data)
    labels = data.y_train[:64]
    old = paths_preview_figure(deqnet.trajectory(model, data.x_train[:64]), labels, extent)
    trainer.step(20)
    traj = deqnet.trajectory(model, data.x_train[:64])
    new = paths_preview_figure(traj, labels, extent)
    restyles, relayout = preview_update(traj, labels, extent)
    assert {(r["trace"], r["attr"]) for r in restyles} == {
        (i, attr) for i in range(len(new.data)) for attr in ("x", "y")
    }
    for r in restyles:
        want = _array(getattr(new.data[r["trace"]], r["attr"]))
        np.testing.assert_array_equal(decode_array(r["value"]), want.astype(np.float64))
        assert not np.array_equal(_array(getattr(old.data[r["trace"]], r["attr"])), want)
    assert relayout == {
        "xaxis.range": list(new.layout.xaxis.range),
        "yaxis.range": list(new.layout.yaxis.range),
    }


def test_curves_extension_appends_exactly_the_missing_records() -> None:
    *_, trainer = _trained("moons", 7)
    old = curves_figure(trainer.history)
    trainer.step(5)
    new = curves_figure(trainer.history)
    ext = curves_extension(trainer.history, 7)
    assert ext["from"] == 7 and ext["count"] == 5
    steps = decode_array(ext["x"])
    for trace, ys in zip(ext["traces"], ext["y"], strict=True):
        x = np.concatenate([_array(old.data[trace].x), steps])
        y = np.concatenate([_array(old.data[trace].y), decode_array(ys)])
        np.testing.assert_array_equal(x, _array(new.data[trace].x))
        np.testing.assert_array_equal(y, _array(new.data[trace].y))
    assert curves_extension(trainer.history, 12)["count"] == 0


def test_float32_curves_keep_the_records_values() -> None:
    *_, trainer = _trained("moons", 3)
    ext = curves_extension(trainer.history, 0)
    loss = decode_array(ext["y"][0])
    assert loss.tolist() == pytest.approx([r.loss for r in trainer.history], rel=1e-6)
