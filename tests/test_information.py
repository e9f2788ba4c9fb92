"""The plug-in mutual information I(y; x) at a finite resolution, against exact cases.

Bits throughout. The estimator bins every coordinate into equal-width bins over the bounding box
of the sample and counts (cell, label) pairs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from deqnet.analysis.information import (
    bin_cells,
    entropy_bits,
    information_along_depth,
    mutual_information,
)


def test_entropy_of_known_distributions() -> None:
    assert entropy_bits(np.array([0, 1, 2, 3])) == pytest.approx(2.0, abs=1e-15)
    assert entropy_bits(np.zeros(7, dtype=int)) == 0.0
    assert entropy_bits(np.array([5, 5, 5, 9])) == pytest.approx(
        -(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25)), abs=1e-15
    )


@pytest.mark.parametrize("dim", [1, 2])
def test_labels_that_are_a_function_of_the_cell_give_their_entropy(dim: int) -> None:
    # Integer lattice 0..B−1 per coordinate with B bins over [0, B−1]: each value is its own bin.
    bins = 6
    rng = np.random.default_rng(1)
    x = rng.integers(0, bins, size=(3000, dim)).astype(np.float64)
    x[:bins, :] = np.arange(bins)[:, None]  # the bounding box is exactly [0, B−1]
    y = (x.sum(axis=1).astype(int) * 7) % 4  # any function of the cell
    assert mutual_information(x, y, bins) == pytest.approx(entropy_bits(y), abs=1e-12)
    assert len(np.unique(bin_cells(x, bins))) == bins**dim


def test_independent_labels_give_almost_nothing() -> None:
    # For independent y, 2 N ln2 · I is asymptotically χ² with (B − 1)(C − 1) = 9 degrees of
    # freedom (mean 9; P(χ²₉ > 40) ≈ 5e-6), so I < 40 / (2 N ln 2) bits: the plug-in bias bound.
    n, bins = 100_000, 10
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(n, 1)), rng.integers(0, 2, size=n)
    value = mutual_information(x, y, bins)
    assert 0.0 <= value < 40 / (2 * n * math.log(2))


def _phi(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.vectorize(math.erf)(np.asarray(z) / math.sqrt(2.0)))


def _binary_entropy(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-300, 1.0)
    q = np.clip(1.0 - p, 1e-300, 1.0)
    return -(p * np.log2(p) + q * np.log2(q))


def test_two_gaussians_match_numerical_integration() -> None:
    """y ∈ {0, 1} equally likely, x | y ~ N(±μ, 1): I = H_b(1/2) − E_x[H_b(P(y=1 | x))], with
    P(y=1 | x) = σ(2μx), integrated on a fine grid.

    Tolerances: binning can only lose information (data processing); the population's binned I
    (exact, from the normal CDF on the sample's own bin edges) loses about 0.002 bits at bin
    width ≈ 0.27 (the loss shrinks like the width squared), so we allow 0.005. The plug-in
    estimate differs from that binned value by its bias, (B − 1)/(2 N ln 2) ≈ 1.4e-4 bits, plus
    sampling noise of standard deviation ≈ 1.6e-3 bits at N = 200 000: 0.01 is over five."""
    mu, n, bins = 1.0, 200_000, 40
    grid = np.linspace(-14.0, 14.0, 200_001)
    density = 0.5 * (np.exp(-((grid - mu) ** 2) / 2) + np.exp(-((grid + mu) ** 2) / 2))
    density /= math.sqrt(2 * math.pi)
    posterior = 1.0 / (1.0 + np.exp(-2 * mu * grid))
    exact = 1.0 - np.trapezoid(density * _binary_entropy(posterior), grid)

    rng = np.random.default_rng(3)
    y = np.repeat([0, 1], n // 2)
    x = (rng.normal(size=n) + np.where(y == 1, mu, -mu))[:, None]
    estimate = mutual_information(x, y, bins)

    edges = np.linspace(x.min(), x.max(), bins + 1)
    edges[0], edges[-1] = -np.inf, np.inf  # the population's tails fall in the outer bins
    p_bin_1 = np.diff(_phi(edges - mu))
    p_bin_0 = np.diff(_phi(edges + mu))
    p_bin = 0.5 * (p_bin_0 + p_bin_1)
    keep = p_bin > 0
    binned = 1.0 - np.sum(p_bin[keep] * _binary_entropy(0.5 * p_bin_1[keep] / p_bin[keep]))

    assert 0.0 <= exact - binned < 0.005
    assert estimate == pytest.approx(binned, abs=0.01)
    assert estimate == pytest.approx(exact, abs=0.02)


def _two_blobs(n: int = 600, seed: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    x = rng.normal(size=(n, 2)) + 0.8 * np.stack([np.cos(y), np.sin(y)], axis=1)
    return x, y


@pytest.mark.parametrize("bins", [2, 5, 17])
def test_affine_maps_per_coordinate_leave_the_estimate_unchanged(bins: int) -> None:
    # An affine map of each coordinate maps the bounding box and its bin edges onto the new
    # ones (a reflection reverses the bin order), so every point keeps its cell.
    x, y = _two_blobs()
    before = mutual_information(x, y, bins)
    for scale, shift in ((2.0, 3.0), (-0.5, 1.0), (10.0, -7.0)):
        moved = x * np.array([scale, 1.0 / scale]) + shift
        assert mutual_information(moved, y, bins) == pytest.approx(before, abs=1e-12)


def test_a_smooth_invertible_map_keeps_the_fine_resolution_estimate() -> None:
    # f(x) = x + 0.5 tanh(x) per coordinate is smooth and strictly increasing. At a resolution
    # where no two points share a cell (before and after the map), the estimate is H(y) for both:
    # the bound on the change is 0. At a coarse resolution the map does change the estimate:
    # information at finite resolution is what a flow can change.
    x, y = _two_blobs()
    moved = x + 0.5 * np.tanh(x)
    fine = 20_000
    assert len(np.unique(bin_cells(x, fine))) == len(x)
    assert len(np.unique(bin_cells(moved, fine))) == len(x)
    assert mutual_information(x, y, fine) == pytest.approx(entropy_bits(y), abs=1e-12)
    assert mutual_information(moved, y, fine) == pytest.approx(entropy_bits(y), abs=1e-12)
    coarse = 3
    assert abs(mutual_information(moved, y, coarse) - mutual_information(x, y, coarse)) > 1e-3


def test_estimate_is_bounded_by_the_label_entropy_and_the_cells() -> None:
    x, y = _two_blobs()
    for bins in (1, 2, 4, 8, 64):
        value = mutual_information(x, y, bins)
        assert 0.0 <= value <= entropy_bits(y) + 1e-12
        assert value <= math.log2(len(np.unique(bin_cells(x, bins)))) + 1e-12
    assert mutual_information(x, y, 1) == 0.0


def test_information_along_depth_is_the_estimate_at_each_depth() -> None:
    x, y = _two_blobs()
    states = np.stack([x, 2 * x, x + 0.5 * np.tanh(x)])
    table = information_along_depth(states, y, [2, 4, 8])
    assert table.shape == (3, 3)
    for i, bins in enumerate([2, 4, 8]):
        for k in range(3):
            assert table[i, k] == mutual_information(states[k], y, bins)
    np.testing.assert_allclose(table[:, 0], table[:, 1], rtol=0, atol=1e-12)


def test_bad_inputs_are_rejected() -> None:
    with pytest.raises(ValueError):
        mutual_information(np.ones(5), np.zeros(5), 2)  # x must be (N, D)
    with pytest.raises(ValueError):
        mutual_information(np.ones((5, 1)), np.zeros(4), 2)
    with pytest.raises(ValueError):
        mutual_information(np.full((3, 1), np.nan), np.zeros(3), 2)
    with pytest.raises(ValueError):
        mutual_information(np.ones((3, 1)), np.zeros(3), 0)
