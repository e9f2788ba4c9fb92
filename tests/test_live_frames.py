"""The live stream's frames: the wire format round-trips, and a frame carries exactly the numbers
of the model it shows (its own decision grid, its trainer's records), quantised as documented."""

from __future__ import annotations

import json

import numpy as np
import pytest
from live_sessions import LiveSession

import deqnet
from deqnet.analysis import decision_grid, plot_extent
from deqnet.figures.boundary import shading_arrays
from deqnet.figures.paths import preview_arrays
from deqnet.figures.style import probability_image
from deqnet.live import Mailbox, decode_frame, encode_frame, encode_update, make_picture
from deqnet.live.frames import probability_levels

RUN = deqnet.RunConfig(
    data=deqnet.DataConfig(n=96, seed=3),
    model=deqnet.ModelConfig(width=8, steps=4),
    train=deqnet.TrainConfig(seed=5, train_steps=40),
)


def test_arrays_round_trip_aligned_with_the_header() -> None:
    rng = np.random.default_rng(0)
    arrays = {
        "a": rng.integers(0, 256, size=(3, 5), dtype=np.uint8),
        "b": rng.normal(size=(7,)).astype(np.float32),
        "c": np.array([np.nan, 1.5], dtype=np.float32),
        "empty": np.zeros((0, 2), dtype=np.float32),
    }
    message = encode_frame({"step": 3, "text": "é"}, arrays)
    header, back = decode_frame(message)
    assert header == {"step": 3, "text": "é"}
    assert back.keys() == arrays.keys()
    for name, values in arrays.items():
        np.testing.assert_array_equal(back[name], values)
        assert back[name].dtype == values.dtype
    # Every array starts 8-byte aligned in the message (the browser views it in place).
    n = int.from_bytes(message[:4], "little")
    table = json.loads(message[4 : 4 + n])["arrays"]
    start = -(-(4 + n) // 8) * 8
    assert all((start + e["offset"]) % 8 == 0 for e in table)


def test_other_dtypes_and_broken_messages_are_refused() -> None:
    with pytest.raises(TypeError):
        encode_frame({}, {"x": np.zeros(3, dtype=np.float64)})
    good = encode_frame({}, {"x": np.zeros(4, dtype=np.float32)})
    for bad in (b"", b"\xff\xff\xff\x7f{}", good[:-4]):
        with pytest.raises(ValueError):
            decode_frame(bad)


def test_probability_levels_are_the_nearest_of_255_steps() -> None:
    p = np.linspace(0, 1, 1001)
    levels = probability_levels(p)
    assert levels.dtype == np.uint8
    assert np.max(np.abs(levels / 255 - p)) <= 0.5 / 255 + 1e-12
    # p = 0.5 sits exactly on the browser's contour level 127.5 only as a tie: 0.499 and 0.501
    # fall on either side.
    assert probability_levels(np.array([0.499, 0.501])).tolist() == [127, 128]


@pytest.mark.parametrize("discretize", [False, True])
def test_a_frame_carries_the_models_own_grid_paths_and_records(discretize: bool) -> None:
    session = LiveSession(RUN)
    session.trainer.step(12)
    picture = make_picture(
        session.model, session.data, serial=session.trainer.serial, step=12, n=50
    )
    box = Mailbox(session, wake=lambda: None)
    box.post(picture)
    header, arrays = decode_frame(encode_update(box.take(), discretize=discretize))

    grid = decision_grid(session.model, plot_extent(session.data), n=50)
    z, p1 = shading_arrays(grid, discretize)
    np.testing.assert_array_equal(arrays["z"], probability_levels(z))
    np.testing.assert_array_equal(arrays["contour"], probability_levels(p1))
    g = header["grid"]
    assert (g["rows"], g["cols"], g["step"], g["kind"]) == (50, 50, 12, "heatmap")
    assert g["x0"] == pytest.approx(grid.xs[0]) and g["dx"] == pytest.approx(np.diff(grid.xs)[0])
    assert g["y0"] == pytest.approx(grid.ys[0]) and g["dy"] == pytest.approx(np.diff(grid.ys)[0])

    history = session.trainer.history
    assert header["curves"] == {"reset": True, "from": 0, "count": 12}
    np.testing.assert_array_equal(arrays["curve_step"], np.arange(1, 13, dtype=np.float32))
    np.testing.assert_array_equal(arrays["curve_loss"], np.float32([r.loss for r in history]))
    np.testing.assert_array_equal(arrays["curve_test"], np.float32([r.test_acc for r in history]))
    assert header["metrics"]["step"] == f"12 / {RUN.train.train_steps}"
    assert header["metrics"]["loss"] == f"{history[-1].loss:.4f}"

    traces, view = preview_arrays(picture.paths, picture.labels, picture.extent)
    assert header["preview"] == {"range": list(view), "traces": len(traces)}
    for i, (x, y) in enumerate(traces):
        np.testing.assert_array_equal(arrays[f"path_x{i}"], np.float32(x))
        np.testing.assert_array_equal(arrays[f"path_y{i}"], np.float32(y))


def test_three_classes_go_out_as_the_figures_image() -> None:
    run = deqnet.RunConfig(
        data=deqnet.DataConfig(name="gaussians", n=90, n_classes=3), model=RUN.model
    )
    session = LiveSession(run)
    picture = make_picture(session.model, session.data, serial=1, step=0, n=20, paths=False)
    box = Mailbox(session, wake=lambda: None)
    box.post(picture)
    header, arrays = decode_frame(encode_update(box.take(), discretize=False))
    assert header["grid"]["kind"] == "image" and "preview" not in header
    np.testing.assert_array_equal(arrays["image"], probability_image(picture.grid.probs))
