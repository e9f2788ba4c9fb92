"""A results table read for people: counts and the best cell, full settings of a row, and 2-D
slices that pick each cell's row by the values in its axis columns."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sweep_files import GRID, accuracy, write_fake_results

from deqnet.analysis.sweep_table import cell_settings, grid_slice, summarize
from deqnet.sweep.results_file import read_results


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return read_results(write_fake_results(tmp_path_factory.mktemp("r") / "r.parquet"))


def test_the_summary_counts_statuses_and_finds_the_best_cell(tmp_path, table) -> None:
    _, frame = table
    facts = summarize(frame)
    assert (facts.cells, facts.ok, facts.diverged, facts.best) == (12, 11, 1, 11)
    _, other = read_results(write_fake_results(tmp_path / "b.parquet", best=4))
    assert summarize(other).best == 4


def test_cell_settings_are_the_rows_full_configs(table) -> None:
    _, frame = table
    settings = cell_settings(frame, 5)  # lr 0.01, seed 2, T 1.0
    assert set(settings) == {"data", "model", "train"}
    assert settings["train"]["lr"] == 0.01 and settings["train"]["seed"] == 2
    assert settings["model"]["T"] == 1.0 and settings["data"]["name"] == "moons"
    assert type(settings["train"]["seed"]) is int  # plain Python values (JSON-friendly)


@pytest.mark.parametrize("held", [0.5, 1.0])
def test_lr_by_seed_at_one_depth_shows_exactly_those_cells(table, held) -> None:
    _, frame = table
    cut = grid_slice(frame, GRID, "lr", "seed", {"T": held}, "test_acc")
    assert cut.values.shape == (2, 3)
    for i, lr in enumerate(GRID["lr"]):
        for j, seed in enumerate(GRID["seed"]):
            row = cut.rows[i, j]
            assert (frame.loc[row, "lr"], frame.loc[row, "seed"], frame.loc[row, "T"]) == (
                lr,
                seed,
                held,
            )
            assert cut.values[i, j] == accuracy(row)
            assert cut.diverged[i, j] == (row == 7)


def test_axes_may_be_swapped_or_single_and_missing_rows_are_nan(table) -> None:
    _, frame = table
    across = grid_slice(frame, GRID, "T", "lr", {"seed": 1}, "nfe")
    down = grid_slice(frame, GRID, "lr", "T", {"seed": 1}, "nfe")
    np.testing.assert_array_equal(across.values, down.values.T)
    np.testing.assert_array_equal(across.values, [[102, 108], [103, 109]])
    one = grid_slice(frame, {"seed": GRID["seed"]}, "seed", None, {}, "test_acc")
    assert one.values.shape == (3, 1)  # every row matches: the last one of each seed wins
    partial = grid_slice(frame.drop(index=[2, 3]), GRID, "lr", "seed", {"T": 0.5}, "test_acc")
    assert math.isnan(partial.values[0, 1]) and partial.rows[0, 1] == -1
    assert partial.values[0, 0] == accuracy(0)


def test_a_slice_needs_two_grid_axes_and_a_value_for_each_other(table) -> None:
    _, frame = table
    for rows, cols, fixed in [
        ("lr", "lr", {"seed": 0, "T": 0.5}),
        ("lr", "width", {"seed": 0, "T": 0.5}),
        ("lr", "seed", {}),
    ]:
        with pytest.raises(ValueError):
            grid_slice(frame, GRID, rows, cols, fixed, "test_acc")
