"""Drawn points in links (``deqnet.sharing.points``) and as data (``deqnet.datasets.drawn_*``):
round trips, the size of a link, and refusal of every malformed text."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deqnet.config import RunConfig
from deqnet.datasets import DatasetError, drawn_dataset, drawn_problem, make_dataset
from deqnet.sharing import (
    MAX_LINK_POINTS,
    DrawnPoints,
    PointsError,
    decode_points,
    encode_points,
    on_grid,
    run_from_query,
    run_to_query,
)
from deqnet.sharing.points import MAX_LINK_CHARS


def _points(n: int, k: int = 2, seed: int = 0) -> DrawnPoints:
    rng = np.random.default_rng(seed)
    return DrawnPoints(on_grid(rng.uniform(-3, 3, (n, 2))), rng.integers(0, k, n), k)


def _raw(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _text(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _same(a: DrawnPoints, b: DrawnPoints) -> bool:
    return a.n_classes == b.n_classes and np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)


@settings(max_examples=80, deadline=None)
@given(
    n=st.integers(0, 300),
    k=st.integers(2, 5),
    seed=st.integers(0, 2**32 - 1),
)
def test_round_trip(n: int, k: int, seed: int) -> None:
    points = _points(n, k, seed)
    text = encode_points(points)
    assert _same(decode_points(text), points)
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_the_grid_and_the_extremes_survive_exactly() -> None:
    x = on_grid([[0.004, -0.006], [1.234, 9.999], [-10, 10], [25.0, -1e9], [0.1, 0.7]])
    assert x.tolist() == np.float32([[0, -0.01], [1.23, 10], [-10, 10], [10, -10],
                                     [0.1, 0.7]]).tolist()  # fmt: skip
    points = DrawnPoints(x, np.array([0, 1, 2, 3, 4]), 5)
    assert _same(decode_points(encode_points(points)), points)


def test_a_link_of_the_most_points_fits_the_budget() -> None:
    largest = encode_points(_points(MAX_LINK_POINTS, 5))
    assert len(largest) == MAX_LINK_CHARS <= 6000
    assert len(encode_points(_points(500, 2))) < 2800  # a few hundred points: under 3 kB


def test_encoding_refuses_what_a_link_cannot_carry() -> None:
    with pytest.raises(PointsError, match="at most 1000"):
        encode_points(_points(MAX_LINK_POINTS + 1))
    with pytest.raises(PointsError):
        encode_points(DrawnPoints(np.float32([[11, 0]]), np.array([0]), 2))
    with pytest.raises(PointsError):
        encode_points(DrawnPoints(np.float32([[1, 0]]), np.array([2]), 2))


def _header(k: int, n: int, version: int = 1) -> bytes:
    return bytes([version, k]) + n.to_bytes(2, "little")


GOOD = encode_points(_points(10, 3))
BAD = {
    "not base64": "AQIK!!",
    "space": GOOD[:5] + " " + GOOD[5:],
    "padding": GOOD + "=",
    "one char too many": GOOD + "A",
    "cut short": GOOD[:-3],
    "empty": "",
    "too long": "A" * (MAX_LINK_CHARS + 1),
    "version 2": _text(_header(2, 0, version=2)),
    "one class": _text(_header(1, 0)),
    "six classes": _text(_header(6, 0)),
    "too many points": _text(_header(2, MAX_LINK_POINTS + 1) + bytes(4 * 1001 + 126)),
    "wrong length": _text(_header(2, 3) + bytes(12)),  # the class byte is missing
    "out of range": _text(_header(2, 1) + np.int16([1001, 0]).tobytes() + b"\x00"),
    "class 3 of 3": _text(_header(3, 1) + bytes(4) + b"\x03"),
    "stray bits": _text(_header(2, 1) + bytes(4) + b"\x02"),
    "unicode": "ＡＱＩＫ",
}


@pytest.mark.parametrize("name", list(BAD))
def test_malformed_text_is_refused_with_a_sentence(name: str) -> None:
    with pytest.raises(PointsError) as err:
        decode_points(BAD[name])
    assert str(err.value).endswith(".") and len(str(err.value)) < 120


@pytest.mark.parametrize("value", [None, 5, b"AQIA", ["AQIA"]])
def test_non_text_is_refused(value) -> None:
    with pytest.raises(PointsError):
        decode_points(value)


def test_links_carry_points_and_refuse_bad_ones_with_a_notice() -> None:
    points = _points(40, 2)
    query = run_to_query(RunConfig(), points=points)
    assert list(query) == ["v", "pts"]
    assert _same(run_from_query(query).points, points)
    assert run_from_query({"v": "1"}).points is None
    for name, text in BAD.items():
        result = run_from_query({"v": "1", "pts": text, "width": "8"})
        assert result.points is None and result.run.model.width == 8, name
        assert len(result.notices) == 1 and result.notices[0].startswith(r"pts\:"), name
        assert "<" not in result.notices[0]


# --------------------------------------------------------------------------------------------
# Drawn points as data
# --------------------------------------------------------------------------------------------


def test_a_drawn_set_splits_by_the_seed_and_keeps_class_numbers() -> None:
    data = make_dataset("spiral", n=60, n_classes=3, seed=1)
    x, y = on_grid(data.x_all), data.y_all
    y = np.where(y == 1, 2, y)  # class 1 has no point now: class 2 stays 2
    a = drawn_dataset(x, y, 3, test_fraction=0.3, seed=5)
    b = drawn_dataset(x, y, 3, test_fraction=0.3, seed=5)
    c = drawn_dataset(x, y, 3, test_fraction=0.3, seed=6)
    assert a.name == "drawn" and a.n_classes == 3 and a.n_train + a.n_test == 60
    assert np.array_equal(a.x_test, b.x_test) and not np.array_equal(a.x_test, c.x_test)
    assert set(a.y_train.tolist()) == set(a.y_test.tolist()) == {0, 2}
    assert a.n_test == round(20 * 0.3) + round(40 * 0.3)


def test_a_lone_point_of_a_class_trains() -> None:
    x = on_grid(np.arange(18).reshape(9, 2) / 10)
    data = drawn_dataset(x, np.array([0, 0, 0, 0, 1, 1, 1, 1, 2]), 3, test_fraction=0.5, seed=0)
    assert 2 in data.y_train and 2 not in data.y_test and data.n_test == 4


@pytest.mark.parametrize(
    ("labels", "reason"),
    [([], "at least 8"), ([0] * 7, "at least 8"), ([0] * 8, "two classes"),
     ([0] * 8 + [1], "two classes")],
)  # fmt: skip
def test_too_small_a_drawing_says_what_is_missing(labels, reason) -> None:
    y = np.array(labels, dtype=np.int64)
    assert reason in drawn_problem(y, 2)
    with pytest.raises(DatasetError, match=reason):
        drawn_dataset(np.zeros((len(y), 2)), y, 2, test_fraction=0.3, seed=0)
    assert drawn_problem(np.array([0, 0, 1, 1, 0, 0, 1, 1]), 2) is None
