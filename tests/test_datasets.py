"""Tests for deqnet.datasets: generators, splits, validation, arrays and balanced samples."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deqnet.datasets import (
    CLASSIFICATION_DATASETS,
    DATASETS,
    Dataset,
    DatasetError,
    balanced_sample,
    dataset_from_arrays,
    make_dataset,
    n_classes_range,
)

MULTI_CLASS = ("spiral", "gaussians")
# Classes: balance and a stratified split (regression data sets: tests/test_regression.py).
CASES = [(name, 2) for name in CLASSIFICATION_DATASETS] + [
    (name, k) for name in MULTI_CLASS for k in (3, 5)
]


def _check_dataset(d: Dataset, n: int, k: int, test_fraction: float) -> None:
    """Shapes, dtypes, label set, balance and stratification of a generated dataset."""
    assert d.x_train.dtype == np.float32 and d.x_test.dtype == np.float32
    assert d.y_train.dtype == np.int64 and d.y_test.dtype == np.int64
    assert d.x_train.shape == (d.n_train, 2) and d.x_test.shape == (d.n_test, 2)
    assert d.y_train.shape == (d.n_train,) and d.y_test.shape == (d.n_test,)
    assert d.n_train + d.n_test == n
    assert d.n_classes == k
    assert np.isfinite(d.x_all).all()
    counts = np.bincount(d.y_all, minlength=k)
    assert len(counts) == k and counts.max() - counts.min() <= 1
    assert set(d.y_train.tolist()) == set(range(k)) == set(d.y_test.tolist())
    expected_test = min(max(round(n * test_fraction), k), n - k)
    assert d.n_test == expected_test


def _radius(x: np.ndarray) -> np.ndarray:
    return np.linalg.norm(x.astype(np.float64), axis=1)


# ------------------------------------------------------------------------------ generators


@pytest.mark.parametrize(("name", "k"), CASES)
def test_shapes_balance_and_split(name: str, k: int) -> None:
    d = make_dataset(name, n=301, noise=0.1, test_fraction=0.3, seed=1, n_classes=k)
    _check_dataset(d, 301, k, 0.3)
    assert d.name == name
    np.testing.assert_array_equal(d.x_all, np.concatenate([d.x_train, d.x_test]))
    np.testing.assert_array_equal(d.y_all, np.concatenate([d.y_train, d.y_test]))


@pytest.mark.parametrize(("name", "k"), CASES)
def test_splits_are_stratified(name: str, k: int) -> None:
    d = make_dataset(name, n=600, test_fraction=0.25, seed=3, n_classes=k)
    per_class = np.bincount(d.y_test, minlength=k) / np.bincount(d.y_all, minlength=k)
    assert np.all(np.abs(per_class - 0.25) < 0.02)


@pytest.mark.parametrize("test_fraction", [0.05, 0.1, 0.3, 0.5, 0.9])
def test_test_fraction_respected(test_fraction: float) -> None:
    d = make_dataset("moons", n=1000, test_fraction=test_fraction)
    assert d.n_test == round(1000 * test_fraction)


def test_tiny_split_still_contains_every_class() -> None:
    d = make_dataset("spiral", n=10, n_classes=5, test_fraction=0.05)
    _check_dataset(d, 10, 5, 0.05)
    assert d.n_test == 5


@pytest.mark.parametrize("name", DATASETS)
def test_deterministic_per_seed(name: str) -> None:
    a = make_dataset(name, n=200, seed=7)
    b = make_dataset(name, n=200, seed=7)
    c = make_dataset(name, n=200, seed=8)
    for field in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.x_train, c.x_train)


def test_global_rng_untouched() -> None:
    state = np.random.get_state()[1].copy()
    make_dataset("gaussians", n=100, n_classes=3)
    dataset_from_arrays(np.zeros((10, 2)), [0, 1] * 5)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


@pytest.mark.parametrize(("name", "k"), CASES)
def test_clean_points_inside_plot_square(name: str, k: int) -> None:
    d = make_dataset(name, n=2000, noise=0.0, n_classes=k)
    assert np.abs(d.x_all).max() <= 2.5


def test_noise_changes_points_but_not_labels() -> None:
    clean = make_dataset("xor", n=200, noise=0.0, seed=2)
    noisy = make_dataset("xor", n=200, noise=0.3, seed=2)
    assert not np.allclose(clean.x_all, noisy.x_all)
    assert noisy.x_all.std() > clean.x_all.std()


def test_concentric_radii_and_uniform_in_area() -> None:
    d = make_dataset("concentric", n=4000, noise=0.0, seed=0)
    r, y = _radius(d.x_all), d.y_all
    r0, r1 = r[y == 0], r[y == 1]
    assert r0.max() <= 0.5 + 1e-6
    assert r1.min() >= 1.0 - 1e-6 and r1.max() <= 1.5 + 1e-6
    # Uniform in area: P(r <= 0.25) = 0.25 on the disk, P(r <= sqrt(1.625)) = 0.5 on the ring.
    tol = 4 * math.sqrt(0.25 * 0.75 / len(r0))
    assert abs(np.mean(r0 <= 0.25) - 0.25) < tol
    assert abs(np.mean(r1 <= math.sqrt(1.625)) - 0.5) < 4 * math.sqrt(0.25 / len(r1))


def test_circles_radii() -> None:
    d = make_dataset("circles", n=200, noise=0.0)
    r = _radius(d.x_all)
    np.testing.assert_allclose(r[d.y_all == 0], 0.5, atol=1e-6)
    np.testing.assert_allclose(r[d.y_all == 1], 1.0, atol=1e-6)


def test_moons_extent() -> None:
    x = make_dataset("moons", n=2000, noise=0.0).x_all
    assert x[:, 0].min() >= -1.5 - 1e-6 and x[:, 0].max() <= 1.5 + 1e-6
    assert x[:, 1].min() >= -0.75 - 1e-6 and x[:, 1].max() <= 0.75 + 1e-6
    assert x[:, 0].max() - x[:, 0].min() > 2.9


def test_xor_margin_and_labels() -> None:
    d = make_dataset("xor", n=1000, noise=0.0)
    x = d.x_all
    assert np.abs(x).min() >= 0.1 - 1e-6 and np.abs(x).max() <= 1.5 + 1e-6
    np.testing.assert_array_equal(d.y_all, (x[:, 0] * x[:, 1] < 0).astype(np.int64))


@pytest.mark.parametrize("k", [2, 3, 5])
def test_spiral_radius_range(k: int) -> None:
    r = _radius(make_dataset("spiral", n=1000, noise=0.0, n_classes=k).x_all)
    assert r.min() >= 0.1 - 1e-6 and r.max() <= 1.8 + 1e-6


@pytest.mark.parametrize("k", [2, 3, 5])
def test_gaussian_centres_on_circle(k: int) -> None:
    d = make_dataset("gaussians", n=3000, noise=0.0, n_classes=k)
    means = np.array([d.x_all[d.y_all == c].mean(axis=0) for c in range(k)])
    np.testing.assert_allclose(np.linalg.norm(means, axis=1), 1.2, atol=0.05)
    if k == 2:
        np.testing.assert_allclose(means, [[0.85, 0.85], [-0.85, -0.85]], atol=0.05)


def test_three_class_multiclass_datasets() -> None:
    for name in MULTI_CLASS:
        d = make_dataset(name, n=300, n_classes=3)
        assert d.n_classes == 3
        np.testing.assert_array_equal(np.bincount(d.y_all), [100, 100, 100])


def test_n_classes_range() -> None:
    assert n_classes_range("moons") == (2, 2)
    assert n_classes_range("spiral") == (2, 5)


@settings(max_examples=30, deadline=None)
@given(
    name=st.sampled_from(CLASSIFICATION_DATASETS),
    n=st.integers(10, 2000),
    noise=st.floats(0.0, 1.0),
    test_fraction=st.floats(0.05, 0.9),
    seed=st.integers(0, 2**32 - 1),
    data=st.data(),
)
def test_property_valid_args_give_valid_data(
    name: str, n: int, noise: float, test_fraction: float, seed: int, data: st.DataObject
) -> None:
    lo, hi = n_classes_range(name)
    k = data.draw(st.integers(lo, hi))
    d = make_dataset(name, n=n, noise=noise, test_fraction=test_fraction, seed=seed, n_classes=k)
    _check_dataset(d, n, k, test_fraction)


# ------------------------------------------------------------------------------ argument errors


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"name": "banana"}, ["moons", "circles", "concentric", "spiral", "xor", "gaussians"]),
        ({"name": 3}, ["moons", "gaussians"]),
        ({"n": 7}, ["8", "10000"]),
        ({"n": 10001}, ["8", "10000"]),
        ({"n": 100.0}, ["integer"]),
        ({"n": 8, "name": "spiral", "n_classes": 5}, ["10", "10000"]),
        ({"noise": -0.1}, ["0.0", "1.0"]),
        ({"noise": 1.5}, ["0.0", "1.0"]),
        ({"noise": float("nan")}, ["noise"]),
        ({"test_fraction": 0.01}, ["0.05", "0.9"]),
        ({"test_fraction": 0.95}, ["0.05", "0.9"]),
        ({"seed": -1}, ["seed"]),
        ({"name": "moons", "n_classes": 3}, ["must be 2"]),
        ({"name": "xor", "n_classes": 1}, ["must be 2"]),
        ({"name": "spiral", "n_classes": 6}, ["between 2 and 5"]),
        ({"name": "gaussians", "n_classes": 1}, ["between 2 and 5"]),
    ],
)
def test_bad_arguments_raise(kwargs: dict, words: list[str]) -> None:
    with pytest.raises(DatasetError) as info:
        make_dataset(**kwargs)
    for word in words:
        assert word in str(info.value)


def test_dataset_error_is_value_error() -> None:
    assert issubclass(DatasetError, ValueError)


# ------------------------------------------------------------------------------ arrays


def test_dataset_from_arrays_remaps_and_splits() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2)) * 50
    y = np.repeat([-1, 1, 7], [10, 10, 20])
    d = dataset_from_arrays(x, y, test_fraction=0.25, seed=4)
    assert d.name == "uploaded" and d.n_classes == 3
    assert d.n_test == 10 and set(d.y_test.tolist()) == {0, 1, 2}
    np.testing.assert_array_equal(np.bincount(d.y_all), [10, 10, 20])
    # Coordinates are kept (as float32), only reordered.
    np.testing.assert_array_equal(np.sort(d.x_all[:, 0]), np.sort(x[:, 0].astype(np.float32)))
    again = dataset_from_arrays(x, y, test_fraction=0.25, seed=4)
    np.testing.assert_array_equal(again.x_train, d.x_train)


@pytest.mark.parametrize(
    ("x", "y", "word"),
    [
        (np.zeros((10, 3)), [0, 1] * 5, "columns"),
        (np.zeros((10, 2)), [0, 1] * 4, "labels"),
        (np.zeros((6, 2)), [0, 1] * 3, "rows"),
        (np.full((10, 2), np.nan), [0, 1] * 5, "NaN"),
        (np.full((10, 2), 5e3), [0, 1] * 5, "range"),
        # A label that is not whole makes regression data (tests/test_regression.py), whose
        # targets must vary.
        (np.zeros((10, 2)), [0.5] * 10, "vary"),
        (np.zeros((10, 2)), [0] * 10, "classes"),
        (np.zeros((12, 2)), list(range(6)) * 2, "classes"),
        (np.zeros((10, 2)), [0] * 9 + [1], "only 1 row"),
        ([["a", "b"]] * 10, [0, 1] * 5, "numbers"),
    ],
)
def test_dataset_from_arrays_rejects(x: object, y: object, word: str) -> None:
    with pytest.raises(DatasetError, match=word):
        dataset_from_arrays(x, y)


# ------------------------------------------------------------------------------ balanced samples


def test_balanced_sample_takes_the_classes_in_turn_in_row_order() -> None:
    labels = np.array([1, 0, 0, 2, 1, 0, 0])
    np.testing.assert_array_equal(balanced_sample(labels, 5), [1, 0, 3, 2, 4])
    # A class that runs out drops out of the turn; n beyond the data gives every row once.
    np.testing.assert_array_equal(balanced_sample(labels, 100), [1, 0, 3, 2, 4, 5, 6])
    assert balanced_sample(labels, 0).tolist() == [] and balanced_sample([], 3).tolist() == []


def test_a_seeded_balanced_sample_is_balanced_spread_and_repeatable() -> None:
    d = make_dataset("spiral", n=300, n_classes=3, seed=0)
    rows = balanced_sample(d.y_train, 30, seed=4)
    assert np.bincount(d.y_train[rows]).tolist() == [10, 10, 10]
    assert len(set(rows.tolist())) == 30
    np.testing.assert_array_equal(rows, balanced_sample(d.y_train, 30, seed=4))
    assert not np.array_equal(rows, balanced_sample(d.y_train, 30, seed=5))
    in_order = balanced_sample(d.y_train, 30)
    assert not np.array_equal(np.sort(rows), np.sort(in_order))  # not just the first rows
    # The classes still alternate: 0, 1, 2, 0, 1, 2, ...
    np.testing.assert_array_equal(d.y_train[rows], np.tile([0, 1, 2], 10))
