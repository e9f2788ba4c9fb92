"""Small 2-D datasets for deqnet: classification and regression.

Everything here is plain NumPy (no torch, no streamlit). Points are ``(n, 2)`` float32 arrays.
Classification labels are ``(n,)`` int64 arrays with values ``0 .. n_classes - 1``; regression
targets (the data sets of :data:`REGRESSION_DATASETS`) are ``(n,)`` float32 arrays of real
numbers, and such a data set has ``n_classes = 1``: the size of the model's readout (one
output), so every ``build_model(config, data.n_classes)`` builds the right model.

Generated datasets (:func:`make_dataset`) are:

* deterministic: all randomness comes from ``np.random.default_rng(seed)``;
* balanced: class ``c`` gets ``n // n_classes`` points, plus one for the first
  ``n % n_classes`` classes;
* scaled to lie roughly in ``[-2, 2]^2`` (clean points always satisfy ``|x| <= 2.5``);
* jittered with isotropic Gaussian noise of standard deviation ``noise`` (data units);
* shuffled and split with a stratified split, so both splits contain every class.

User data can be loaded from arrays (:func:`dataset_from_arrays`; CSV files are read in
``deqnet.sharing.csvfile``); every validation problem raises :class:`DatasetError` whose message is
a single sentence meant to be shown to the end user as is. :func:`balanced_sample` picks a few
points of every class in turn, the one rule for "a few points to draw or check".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "CLASSIFICATION_DATASETS",
    "DATASETS",
    "REGRESSION_DATASETS",
    "TASKS",
    "MAX_ABS_VALUE",
    "MAX_CLASSES",
    "N_MAX",
    "N_MIN",
    "NOISE_MAX",
    "NOISE_MIN",
    "TEST_FRACTION_MAX",
    "TEST_FRACTION_MIN",
    "Dataset",
    "DatasetError",
    "balanced_sample",
    "check_seed",
    "check_test_fraction",
    "dataset_from_arrays",
    "drawn_dataset",
    "drawn_problem",
    "is_integer",
    "is_regression_labels",
    "make_dataset",
    "n_classes_range",
    "regression_dataset",
    "split_dataset",
    "task_of",
]

CLASSIFICATION_DATASETS: tuple[str, ...] = (
    "moons",
    "circles",
    "concentric",
    "spiral",
    "xor",
    "gaussians",
)
REGRESSION_DATASETS: tuple[str, ...] = ("plane", "bumps")
DATASETS: tuple[str, ...] = CLASSIFICATION_DATASETS + REGRESSION_DATASETS
TASKS: tuple[str, ...] = ("classification", "regression")

N_MIN = 8
N_MAX = 10_000
NOISE_MIN = 0.0
NOISE_MAX = 1.0
TEST_FRACTION_MIN = 0.05
TEST_FRACTION_MAX = 0.9
MAX_CLASSES = 5
MAX_ABS_VALUE = 1e3

_CLASS_RANGE: dict[str, tuple[int, int]] = {
    "moons": (2, 2),
    "circles": (2, 2),
    "concentric": (2, 2),
    "spiral": (2, MAX_CLASSES),
    "xor": (2, 2),
    "gaussians": (2, MAX_CLASSES),
    # Regression: one real target, so one output (``n_classes`` is the readout's size).
    "plane": (1, 1),
    "bumps": (1, 1),
}


class DatasetError(ValueError):
    """Invalid dataset arguments or data; the message is one sentence for the end user."""


# --------------------------------------------------------------------------------------------
# Dataset container
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """A train/test split of a 2-D classification or regression dataset.

    Attributes:
        x_train: ``(n_train, 2)`` float32 points.
        y_train: ``(n_train,)`` int64 labels in ``0 .. n_classes - 1``, or float32 targets
            (regression).
        x_test: ``(n_test, 2)`` float32 points.
        y_test: ``(n_test,)`` like ``y_train``.
        n_classes: number of classes; 1 for regression (the readout's single output).
        name: dataset name (one of :data:`DATASETS`, or e.g. ``"uploaded"``).

    Arrays are coerced to float32 / int64 (float32 targets when ``n_classes == 1``) on
    construction; shapes, labels and finite targets are checked.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    name: str

    def __post_init__(self) -> None:
        labels = np.float32 if int(self.n_classes) == 1 else np.int64
        for field, dtype in (
            ("x_train", np.float32),
            ("y_train", labels),
            ("x_test", np.float32),
            ("y_test", labels),
        ):
            object.__setattr__(self, field, np.ascontiguousarray(getattr(self, field), dtype))
        object.__setattr__(self, "n_classes", int(self.n_classes))
        for x, y, split in (
            (self.x_train, self.y_train, "train"),
            (self.x_test, self.y_test, "test"),
        ):
            if x.ndim != 2 or x.shape[1] != 2 or y.shape != (x.shape[0],):
                raise DatasetError(
                    f"The {split} split must have points of shape (n, 2) and labels of shape "
                    f"(n,), got {x.shape} and {y.shape}."
                )
            if self.task == "regression":
                if not np.isfinite(y).all():
                    raise DatasetError(f"The {split} targets must be finite numbers.")
            elif y.size and (y.min() < 0 or y.max() >= self.n_classes):
                raise DatasetError(
                    f"The {split} labels must lie in 0..{self.n_classes - 1}, "
                    f"got values from {y.min()} to {y.max()}."
                )

    @property
    def task(self) -> str:
        """ "regression" (one real target per point, ``n_classes == 1``) or "classification"."""
        return "regression" if self.n_classes == 1 else "classification"

    @property
    def x_all(self) -> np.ndarray:
        """All points, train then test: ``(n_train + n_test, 2)`` float32."""
        return np.concatenate([self.x_train, self.x_test])

    @property
    def y_all(self) -> np.ndarray:
        """All labels (or targets), train then test: ``(n_train + n_test,)``."""
        return np.concatenate([self.y_train, self.y_test])

    @property
    def n_train(self) -> int:
        """Number of training points."""
        return int(self.x_train.shape[0])

    @property
    def n_test(self) -> int:
        """Number of test points."""
        return int(self.x_test.shape[0])

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, n_classes={self.n_classes}, "
            f"n_train={self.n_train}, n_test={self.n_test})"
        )


# --------------------------------------------------------------------------------------------
# Argument validation
# --------------------------------------------------------------------------------------------


def n_classes_range(name: str) -> tuple[int, int]:
    """Return the inclusive ``(min, max)`` number of classes supported by dataset ``name``
    (``(1, 1)`` for a regression data set: one output)."""
    return _CLASS_RANGE[_check_name(name)]


def task_of(name: str) -> str:
    """ "regression" for a name of :data:`REGRESSION_DATASETS`, else "classification" (also for
    names that are no generator's, such as "uploaded": their data decides, ``Dataset.task``)."""
    return "regression" if name in REGRESSION_DATASETS else "classification"


def _check_name(name: object) -> str:
    key = name.strip().lower() if isinstance(name, str) else None
    if key not in _CLASS_RANGE:
        raise DatasetError(f"Unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}.")
    return key


def is_integer(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _is_real(value: object) -> bool:
    return is_integer(value) or isinstance(value, float | np.floating)


def check_test_fraction(test_fraction: object) -> float:
    if not _is_real(test_fraction) or not (
        TEST_FRACTION_MIN <= float(test_fraction) <= TEST_FRACTION_MAX
    ):
        raise DatasetError(
            f"test_fraction must be a number between {TEST_FRACTION_MIN} and "
            f"{TEST_FRACTION_MAX}, got {test_fraction!r}."
        )
    return float(test_fraction)


def check_seed(seed: object) -> int:
    if not is_integer(seed) or int(seed) < 0:
        raise DatasetError(f"seed must be a non-negative integer, got {seed!r}.")
    return int(seed)


def check_dataset_args(
    name: object,
    n: object,
    noise: object,
    test_fraction: object,
    seed: object,
    n_classes: object,
) -> tuple[str, int, float, float, int, int]:
    key = _check_name(name)
    lo, hi = _CLASS_RANGE[key]
    if key in REGRESSION_DATASETS:
        # One real target: the class count (a classification setting, 2 by default in every
        # config and link) does not apply and is not checked.
        n_classes = 1
    if not is_integer(n_classes) or not lo <= int(n_classes) <= hi:
        allowed = str(lo) if lo == hi else f"between {lo} and {hi}"
        raise DatasetError(f"n_classes for {key!r} must be {allowed}, got {n_classes!r}.")
    k = int(n_classes)
    n_min = max(N_MIN, 2 * k)
    if not is_integer(n) or not n_min <= int(n) <= N_MAX:
        raise DatasetError(
            f"n must be an integer between {n_min} and {N_MAX} for {k} classes, got {n!r}."
        )
    if not _is_real(noise) or not NOISE_MIN <= float(noise) <= NOISE_MAX:
        raise DatasetError(
            f"noise must be a number between {NOISE_MIN} and {NOISE_MAX}, got {noise!r}."
        )
    return (
        key,
        int(n),
        float(noise),
        check_test_fraction(test_fraction),
        check_seed(seed),
        k,
    )


# --------------------------------------------------------------------------------------------
# Generators: (rng, counts per class) -> clean points (sum(counts), 2) in class order
# --------------------------------------------------------------------------------------------

_Generator = Callable[[np.random.Generator, list[int]], np.ndarray]


def _polar(r: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Polar to Cartesian: ``(m,)``, ``(m,)`` -> ``(m, 2)``."""
    return np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)


def _moons(rng: np.random.Generator, counts: list[int]) -> np.ndarray:
    """sklearn-style moons shifted by ``-(0.5, 0.25)``: union spans [-1.5, 1.5] x [-0.75, 0.75].

    Class 0 is the upper (outer) moon, class 1 the lower (inner) one; scale factor is 1.
    """
    t0 = rng.uniform(0.0, np.pi, counts[0])
    t1 = rng.uniform(0.0, np.pi, counts[1])
    upper = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    lower = np.stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)
    return np.concatenate([upper, lower]) - np.array([0.5, 0.25])


def _circles(rng: np.random.Generator, counts: list[int]) -> np.ndarray:
    """Class 0 on the circle of radius 0.5, class 1 on the circle of radius 1.0."""
    parts = [
        _polar(np.full(m, radius), rng.uniform(0.0, 2 * np.pi, m))
        for m, radius in zip(counts, (0.5, 1.0), strict=True)
    ]
    return np.concatenate(parts)


def _annulus(rng: np.random.Generator, m: int, r0: float, r1: float) -> np.ndarray:
    """``m`` points uniform in area on ``r0 <= r <= r1``: ``(m, 2)``."""
    r = np.sqrt(rng.uniform(0.0, 1.0, m) * (r1**2 - r0**2) + r0**2)
    return _polar(r, rng.uniform(0.0, 2 * np.pi, m))


def _concentric(rng: np.random.Generator, counts: list[int]) -> np.ndarray:
    """Class 0 uniform on the disk r <= 0.5, class 1 uniform on the ring 1 <= r <= 1.5."""
    return np.concatenate([_annulus(rng, counts[0], 0.0, 0.5), _annulus(rng, counts[1], 1.0, 1.5)])


def _spiral(rng: np.random.Generator, counts: list[int]) -> np.ndarray:
    """K-arm spiral: radius 0.1 -> 1.8 over 1.5 turns, arm k rotated by 2*pi*k/K."""
    k_arms = len(counts)
    parts = []
    for k, m in enumerate(counts):
        t = rng.uniform(0.0, 1.0, m)
        theta = 2 * np.pi * (1.5 * t + k / k_arms)
        parts.append(_polar(0.1 + 1.7 * t, theta))
    return np.concatenate(parts)


def _xor(rng: np.random.Generator, counts: list[int]) -> np.ndarray:
    """Uniform in [-1.5, 1.5]^2 minus a 0.1 margin around the axes; class 1 iff x1*x2 < 0."""
    parts = []
    for c, m in enumerate(counts):
        s1 = rng.choice([-1.0, 1.0], m)
        s2 = s1 if c == 0 else -s1
        mag = rng.uniform(0.1, 1.5, (m, 2))
        parts.append(mag * np.stack([s1, s2], axis=1))
    return np.concatenate(parts)


def _gaussians(rng: np.random.Generator, counts: list[int]) -> np.ndarray:
    """Blobs of std 0.35 centred on the circle of radius 1.2, first centre at angle pi/4.

    For two classes the centres are at about (0.85, 0.85) and (-0.85, -0.85). Samples are
    clipped to [-2.5, 2.5]^2 (this only affects rare outliers).
    """
    k_arms = len(counts)
    parts = []
    for k, m in enumerate(counts):
        angle = np.pi / 4 + 2 * np.pi * k / k_arms
        centre = 1.2 * np.array([np.cos(angle), np.sin(angle)])
        parts.append(centre + 0.35 * rng.standard_normal((m, 2)))
    return np.clip(np.concatenate(parts), -2.5, 2.5)


# Regression generators: (rng, n) -> clean points (n, 2) and targets (n,) of about [-1, 1].
_Regressor = Callable[[np.random.Generator, int], tuple[np.ndarray, np.ndarray]]

# Bumps of "bumps": centre (x1, x2), sign; all of width _BUMP_WIDTH.
_BUMPS = (((-0.8, -0.8), 1.0), ((0.8, 0.8), 1.0), ((-0.8, 0.8), -1.0), ((0.8, -0.8), -1.0))
_BUMP_WIDTH = 0.45


def _plane(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Uniform in [-1.5, 1.5]^2; target (x1 + x2) / 3, which spans [-1, 1]."""
    x = rng.uniform(-1.5, 1.5, (n, 2))
    return x, (x[:, 0] + x[:, 1]) / 3.0


def bumps_target(x: np.ndarray) -> np.ndarray:
    """The "bumps" target at points (n, 2): a sum of Gaussian bumps of both signs, (n,),
    within about [-1, 1] (each bump peaks at +-1; the others add less than 0.01 there)."""
    out = np.zeros(len(x))
    for centre, sign in _BUMPS:
        r2 = ((x - np.asarray(centre)) ** 2).sum(axis=1)
        out += sign * np.exp(-r2 / (2 * _BUMP_WIDTH**2))
    return out


def _bumps(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Uniform in [-1.5, 1.5]^2; target :func:`bumps_target`."""
    x = rng.uniform(-1.5, 1.5, (n, 2))
    return x, bumps_target(x)


_REGRESSORS: dict[str, _Regressor] = {"plane": _plane, "bumps": _bumps}

_GENERATORS: dict[str, _Generator] = {
    "moons": _moons,
    "circles": _circles,
    "concentric": _concentric,
    "spiral": _spiral,
    "xor": _xor,
    "gaussians": _gaussians,
}


# --------------------------------------------------------------------------------------------
# Stratified split
# --------------------------------------------------------------------------------------------


def _test_size(n: int, n_classes: int, test_fraction: float) -> int:
    """``round(n * test_fraction)`` clipped so each split can hold one point of every class."""
    return min(max(round(n * test_fraction), n_classes), n - n_classes)


def _stratified_test_counts(counts: np.ndarray, n_test: int) -> np.ndarray:
    """Split ``n_test`` over classes proportionally to ``counts`` (each class keeps >= 1 per split).

    Requires every count >= 2 and ``len(counts) <= n_test <= counts.sum() - len(counts)``.
    Returns ``(n_classes,)`` int64 test counts summing to ``n_test``.
    """
    ideal = counts * n_test / counts.sum()
    take = np.clip(np.floor(ideal).astype(np.int64), 1, counts - 1)
    while take.sum() < n_test:
        gap = np.where(take < counts - 1, ideal - take, -np.inf)
        take[int(np.argmax(gap))] += 1
    while take.sum() > n_test:
        gap = np.where(take > 1, take - ideal, -np.inf)
        take[int(np.argmax(gap))] -= 1
    return take


def _shuffle_split(
    y: np.ndarray, n_classes: int, test_fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle indices and split them, stratified by label: ``(train_idx, test_idx)``."""
    counts = np.bincount(y, minlength=n_classes)
    take = _stratified_test_counts(counts, _test_size(len(y), n_classes, test_fraction))
    perm = rng.permutation(len(y))
    y_perm = y[perm]
    is_test = np.zeros(len(y), dtype=bool)
    for c in range(n_classes):
        is_test[np.flatnonzero(y_perm == c)[: take[c]]] = True
    return perm[~is_test], perm[is_test]


# --------------------------------------------------------------------------------------------
# Public constructors
# --------------------------------------------------------------------------------------------


def make_dataset(
    name: str = "moons",
    n: int = 512,
    noise: float = 0.1,
    test_fraction: float = 0.3,
    seed: int = 0,
    n_classes: int = 2,
) -> Dataset:
    """Generate a balanced, shuffled, stratified-split toy dataset (a regression data set:
    points uniform in [-1.5, 1.5]^2, float32 targets of the clean points, a shuffled split).

    Args:
        name: one of :data:`DATASETS`.
        n: total number of points, ``8..10000`` (and at least ``2 * n_classes``).
        noise: std of the Gaussian jitter added to every coordinate, ``0..1``.
        test_fraction: ``0.05..0.9``; the test split gets ``round(n * test_fraction)`` points,
            clipped to ``[n_classes, n - n_classes]`` so both splits contain every class.
        seed: non-negative seed for ``np.random.default_rng``.
        n_classes: 2 for moons/circles/concentric/xor, 2..5 for spiral and gaussians;
            ignored by the regression data sets ("plane", "bumps"), which have one target.

    Returns:
        A :class:`Dataset` with ``x_*`` of shape ``(m, 2)`` float32 and ``y_*`` of shape
        ``(m,)`` int64.

    Raises:
        DatasetError: if any argument is outside its allowed range.
    """
    key, n, noise, test_fraction, seed, k = check_dataset_args(
        name, n, noise, test_fraction, seed, n_classes
    )
    rng = np.random.default_rng(seed)
    if key in _REGRESSORS:
        return _regression_dataset(key, n, noise, test_fraction, rng)
    counts = [n // k + (1 if c < n % k else 0) for c in range(k)]
    x = _GENERATORS[key](rng, counts)
    if noise > 0:
        x = x + rng.normal(0.0, noise, x.shape)
    y = np.repeat(np.arange(k, dtype=np.int64), counts)
    train, test = _shuffle_split(y, k, test_fraction, rng)
    return Dataset(x[train], y[train], x[test], y[test], k, key)


def _regression_dataset(
    key: str, n: int, noise: float, test_fraction: float, rng: np.random.Generator
) -> Dataset:
    """A regression data set: targets of the clean points, then noise on the inputs (as the
    classification generators jitter points, not labels), then a shuffled split."""
    x, y = _REGRESSORS[key](rng, n)
    if noise > 0:
        x = x + rng.normal(0.0, noise, x.shape)
    train, test = _random_split(n, test_fraction, rng)
    return Dataset(x[train], y[train], x[test], y[test], 1, key)


def _random_split(
    n: int, test_fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled ``(train_idx, test_idx)`` of n rows, ``round(n * test_fraction)`` (clipped to
    1..n-1) in the test split: regression has no classes to stratify by."""
    n_test = min(max(round(n * test_fraction), 1), n - 1)
    perm = rng.permutation(n)
    return perm[n_test:], perm[:n_test]


def _labels_as_int(y: np.ndarray) -> np.ndarray:
    """Integer-valued labels ``(n,)`` of any numeric dtype -> int64, else DatasetError."""
    if y.dtype.kind in "iub":
        return y.astype(np.int64)
    try:
        yf = y.astype(np.float64)
    except (TypeError, ValueError):
        raise DatasetError("Labels must be whole numbers such as 0, 1, 2.") from None
    bad = ~np.isfinite(yf) | (yf != np.round(yf)) | (np.abs(yf) > 2.0**53)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DatasetError(f"Label {y[i]!r} in row {i + 1} is not a whole number.")
    return yf.astype(np.int64)


def _check_points(x: np.ndarray) -> None:
    """Check ``(n, 2)`` points are finite and within +-MAX_ABS_VALUE."""
    bad_rows = np.flatnonzero(~np.isfinite(x).all(axis=1))
    if bad_rows.size:
        raise DatasetError(f"Row {bad_rows[0] + 1} contains a value that is NaN or infinite.")
    big_rows = np.flatnonzero((np.abs(x) > MAX_ABS_VALUE).any(axis=1))
    if big_rows.size:
        raise DatasetError(
            f"Row {big_rows[0] + 1} has a coordinate outside the allowed range "
            f"-{MAX_ABS_VALUE:g} to {MAX_ABS_VALUE:g}."
        )


def _remap_labels(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Map arbitrary integer labels ``(n,)`` to ``0..C-1`` (sorted order) and check classes."""
    values, y, counts = np.unique(labels, return_inverse=True, return_counts=True)
    if len(values) < 2:
        raise DatasetError(
            f"All rows have label {values[0]}; at least 2 different classes are needed."
        )
    if len(values) > MAX_CLASSES:
        raise DatasetError(
            f"Found {len(values)} different labels; at most {MAX_CLASSES} classes are supported."
        )
    small = np.flatnonzero(counts < 2)
    if small.size:
        raise DatasetError(
            f"The class with label {values[small[0]]} has only 1 row; "
            "every class needs at least 2 rows."
        )
    return y.astype(np.int64).reshape(-1), len(values)


def is_regression_labels(labels: np.ndarray) -> bool:
    """The rule for user data (CSV uploads, arrays): labels (n,) with any value that is not a
    whole number (0.25, -1.5) are regression targets, all of them; whole numbers only (2 or
    2.0) are classes. (A CSV column named "target" is regression whatever its values.)"""
    labels = np.asarray(labels)
    if labels.dtype.kind in "iub":
        return False
    try:
        values = labels.astype(np.float64)
    except (TypeError, ValueError):
        return False  # not numbers: the class check says why
    finite = values[np.isfinite(values)]
    return bool((finite != np.round(finite)).any())


def regression_dataset(
    x: np.ndarray,
    targets: np.ndarray,
    *,
    is_test: np.ndarray | None,
    test_fraction: float,
    seed: int,
    name: str,
) -> Dataset:
    """Validate ``(n, 2)`` points and ``(n,)`` real targets, then split into a regression
    Dataset (``n_classes = 1``): by ``is_test`` ``(n,)`` bool if given (row order kept), else
    shuffled with ``seed``."""
    if len(x) < N_MIN:
        raise DatasetError(f"The data has {len(x)} rows; at least {N_MIN} rows are needed.")
    _check_points(x)
    y = np.asarray(targets, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(y) | (np.abs(y) > MAX_ABS_VALUE))
    if bad.size:
        raise DatasetError(
            f"The target in row {bad[0] + 1} is not a number between -{MAX_ABS_VALUE:g} and "
            f"{MAX_ABS_VALUE:g}."
        )
    if np.ptp(y) == 0:
        raise DatasetError("All targets are equal; a regression needs targets that vary.")
    if is_test is None:
        train, test = _random_split(len(y), test_fraction, np.random.default_rng(seed))
    else:
        train, test = np.flatnonzero(~is_test), np.flatnonzero(is_test)
        if not len(train) or not len(test):
            raise DatasetError(
                "Both splits need rows (or remove the split column to split automatically)."
            )
    return Dataset(x[train], y[train], x[test], y[test], 1, name)


def split_dataset(
    x: np.ndarray,
    labels: np.ndarray,
    *,
    is_test: np.ndarray | None,
    test_fraction: float,
    seed: int,
    name: str,
) -> Dataset:
    """Validate ``(n, 2)`` points and ``(n,)`` integer labels, then split into a Dataset.

    If ``is_test`` (``(n,)`` bool) is given it defines the split (row order kept); otherwise
    rows are shuffled and split with a stratified split seeded by ``seed``.
    """
    if len(x) < N_MIN:
        raise DatasetError(f"The data has {len(x)} rows; at least {N_MIN} rows are needed.")
    _check_points(x)
    y, k = _remap_labels(labels)
    if is_test is None:
        train, test = _shuffle_split(y, k, test_fraction, np.random.default_rng(seed))
    else:
        train, test = np.flatnonzero(~is_test), np.flatnonzero(is_test)
        for split, idx in (("train", train), ("test", test)):
            missing = sorted(set(range(k)) - set(y[idx].tolist()))
            if missing:
                label = np.unique(labels)[missing[0]]
                raise DatasetError(
                    f"The {split} split has no rows with label {label}; every class must "
                    "appear in both splits (or remove the split column to split automatically)."
                )
    return Dataset(x[train], y[train], x[test], y[test], k, name)


def dataset_from_arrays(
    x: object,
    y: object,
    *,
    test_fraction: float = 0.3,
    seed: int = 0,
    name: str = "uploaded",
) -> Dataset:
    """Validate user arrays and split them into a :class:`Dataset`.

    Args:
        x: points, array-like of shape ``(n, 2)``; finite, ``|value| <= 1000``; kept as given
            (converted to float32, no rescaling).
        y: labels, array-like of shape ``(n,)``; any whole numbers (e.g. ``{-1, 1}``), remapped
            in sorted order to ``0..C-1``; 2 to 5 classes with at least 2 rows each. Labels
            with any value that is not a whole number are regression targets
            (:func:`is_regression_labels`).
        test_fraction: ``0.05..0.9``; rounded and clipped as in :func:`make_dataset`.
        seed: seed for the deterministic shuffle and stratified split.
        name: name stored on the dataset.

    Raises:
        DatasetError: if the arrays are malformed.
    """
    test_fraction = check_test_fraction(test_fraction)
    seed = check_seed(seed)
    try:
        xa = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise DatasetError("The points x must contain only numbers.") from None
    ya = np.asarray(y)
    if xa.ndim != 2 or xa.shape[1] != 2:
        raise DatasetError(f"The points x must have 2 columns (shape (n, 2)), got {xa.shape}.")
    if ya.shape != (xa.shape[0],):
        raise DatasetError(
            f"The labels y must have one entry per row of x (shape ({xa.shape[0]},)), "
            f"got {ya.shape}."
        )
    if is_regression_labels(ya):
        return regression_dataset(
            xa, ya, is_test=None, test_fraction=test_fraction, seed=seed, name=name
        )
    return split_dataset(
        xa,
        _labels_as_int(ya),
        is_test=None,
        test_fraction=test_fraction,
        seed=seed,
        name=name,
    )


# --------------------------------------------------------------------------------------------
# Drawn data
# --------------------------------------------------------------------------------------------


def drawn_problem(y: np.ndarray, n_classes: int) -> str | None:
    """Why points of classes ``y`` (n,) cannot be trained on yet (one sentence), or None.

    A drawn set needs ``N_MIN`` points and at least two classes with two points each (one for
    each split); other classes may have one point (it trains) or none.
    """
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=n_classes)
    if len(y) < N_MIN:
        return f"Draw at least {N_MIN} points to train ({len(y)} so far)."
    if np.count_nonzero(counts >= 2) < 2:
        return "Draw at least 2 points of each of two classes to train."
    return None


def drawn_dataset(
    x: np.ndarray, y: np.ndarray, n_classes: int, *, test_fraction: float, seed: int
) -> Dataset:
    """Drawn points ``(n, 2)`` of classes ``y`` ``(n,)`` in ``0..n_classes-1`` as a Dataset.

    Classes keep their numbers (and colours), also when some have no point. Each class with m
    >= 2 points puts ``round(m * test_fraction)``, clipped to 1..m-1, of them into the test split
    (a lone point trains), picked by ``np.random.default_rng(seed)``: the same points and seed
    give the same split. Raises DatasetError when :func:`drawn_problem` has a reason.
    """
    x = np.asarray(x, dtype=np.float32).reshape(-1, 2)
    y = np.asarray(y, dtype=np.int64)
    problem = drawn_problem(y, n_classes)
    if problem:
        raise DatasetError(problem)
    _check_points(x)
    test_fraction, rng = check_test_fraction(test_fraction), np.random.default_rng(check_seed(seed))
    order = rng.permutation(len(y))
    is_test = np.zeros(len(y), dtype=bool)
    for c in range(n_classes):
        rows = order[y[order] == c]
        if len(rows) >= 2:
            is_test[rows[: min(max(round(len(rows) * test_fraction), 1), len(rows) - 1)]] = True
    train, test = order[~is_test[order]], order[is_test[order]]
    return Dataset(x[train], y[train], x[test], y[test], n_classes, "drawn")


# --------------------------------------------------------------------------------------------
# Samples of a few points
# --------------------------------------------------------------------------------------------


def balanced_sample(labels: np.ndarray, n: int, *, seed: int | None = None) -> np.ndarray:
    """Row indices (at most n,) of ``labels`` (N,) taking the classes in turn: 0, 1, …, 0, 1, ….

    Within each class the rows are taken in order, or (``seed`` given) in a seeded random order,
    so the sample is spread over the data yet the same on every call. A class that runs out
    drops out of the turn. The points a page draws by default and the points
    ``deqnet.analysis.checks`` measures are chosen by this one rule. Regression targets (float
    labels) have no classes: the first n rows, or n rows in a seeded random order.
    """
    labels = np.asarray(labels)
    rng = None if seed is None else np.random.default_rng(seed)
    if np.issubdtype(labels.dtype, np.floating):  # regression targets: no classes to alternate
        rows = np.arange(len(labels)) if rng is None else rng.permutation(len(labels))
        return rows[: max(int(n), 0)].astype(np.int64)
    labels = labels.astype(np.int64)
    n_classes = int(labels.max()) + 1 if labels.size else 0
    queues = []
    for c in range(n_classes):
        rows = np.flatnonzero(labels == c)
        queues.append(rows if rng is None else rng.permutation(rows))
    longest = max((len(q) for q in queues), default=0)
    order = [int(q[i]) for i in range(longest) for q in queues if i < len(q)]
    return np.array(order[: max(int(n), 0)], dtype=np.int64)
