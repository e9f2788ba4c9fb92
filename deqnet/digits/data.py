"""scikit-learn's 8×8 handwritten digits (1,797 images, 10 classes; bundled, no download)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.datasets import load_digits

N_CLASSES = 10
SIDE = 8
# The bundled images hold integer intensities 0..16 (4×4 blocks of a 32×32 bitmap counted).
MAX_INTENSITY = 16.0


@dataclass(frozen=True, eq=False, repr=False)
class DigitsDataset:
    """A train/test split of the digits.

    Attributes:
        x_train: (n_train, 1, 8, 8) float32 images in [0, 1].
        y_train: (n_train,) int64 labels 0..9.
        x_test: (n_test, 1, 8, 8) float32 images in [0, 1].
        y_test: (n_test,) int64 labels 0..9.
        n_classes: 10.
        name: "digits".
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int = N_CLASSES
    name: str = "digits"

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            x = np.ascontiguousarray(getattr(self, f"x_{split}"), dtype=np.float32)
            y = np.ascontiguousarray(getattr(self, f"y_{split}"), dtype=np.int64)
            if x.ndim != 4 or x.shape[1:] != (1, SIDE, SIDE) or y.shape != (len(x),):
                raise ValueError(
                    f"{split} split must be images (N, 1, 8, 8) with labels (N,), got "
                    f"{x.shape} and {y.shape}"
                )
            object.__setattr__(self, f"x_{split}", x)
            object.__setattr__(self, f"y_{split}", y)

    def first_test_of_each_digit(self) -> list[int]:
        """The test index of the first image of each digit 0 … 9, in digit order (10,)."""
        return [int(np.flatnonzero(self.y_test == digit)[0]) for digit in range(N_CLASSES)]


def load_digits_dataset(test_fraction: float = 0.3, seed: int = 0) -> DigitsDataset:
    """The digits split by a stratified, seeded split (like the 2-D sets).

    Each class is permuted with ``np.random.default_rng(seed)`` and its first
    round(test_fraction · n_class) images go to the test split, so both splits hold every digit
    in the same proportions. Rows of each split are in a seeded random order.
    """
    if not 0.05 <= test_fraction <= 0.9:
        raise ValueError(f"test_fraction must be between 0.05 and 0.9, got {test_fraction!r}")
    bunch = load_digits()
    images = (bunch.images / MAX_INTENSITY).astype(np.float32)[:, None, :, :]
    labels = bunch.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    train, test = [], []
    for k in range(N_CLASSES):
        rows = rng.permutation(np.flatnonzero(labels == k))
        n_test = int(round(test_fraction * len(rows)))
        test.append(rows[:n_test])
        train.append(rows[n_test:])
    train_rows = rng.permutation(np.concatenate(train))
    test_rows = rng.permutation(np.concatenate(test))
    return DigitsDataset(
        x_train=np.ascontiguousarray(images[train_rows]),
        y_train=labels[train_rows],
        x_test=np.ascontiguousarray(images[test_rows]),
        y_test=labels[test_rows],
    )
