"""Shared pytest fixtures and options for the deqnet test suite."""

import pytest
import torch


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--full-load",
        action="store_true",
        default=False,
        help="run the load test at full size (see `make loadtest`)",
    )


@pytest.fixture(autouse=True)
def _single_thread() -> None:
    """Match production: torch runs single-threaded."""
    torch.set_num_threads(1)


@pytest.fixture
def float64() -> torch.dtype:
    """The float64 dtype; pass it explicitly (nothing global is changed)."""
    return torch.float64


@pytest.fixture(scope="module")
def tiny_moons():
    """A small, deterministic two-moons dataset."""
    import deqnet  # imported lazily so collection works even if deqnet is broken

    return deqnet.make_dataset("moons", n=128, noise=0.1, test_fraction=0.25, seed=0)
