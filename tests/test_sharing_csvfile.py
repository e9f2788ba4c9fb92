"""deqnet.sharing.csvfile: CSV export and the hardened import of an uploaded data file."""

from __future__ import annotations

import io

import numpy as np
import pytest

from deqnet.datasets import DatasetError, make_dataset
from deqnet.sharing.csvfile import dataset_to_csv, load_csv


def _rows(n_per_class: int = 5, labels: tuple[int, ...] = (0, 1)) -> list[str]:
    return [f"{0.1 * i},{-0.2 * i},{lab}" for lab in labels for i in range(n_per_class)]


def _csv(*lines: str) -> str:
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("name", "k"), [("moons", 2), ("spiral", 3), ("gaussians", 5)])
def test_csv_round_trip(name: str, k: int) -> None:
    d = make_dataset(name, n=257, noise=0.2, seed=5, n_classes=k)
    text = dataset_to_csv(d)
    assert text.splitlines()[0] == "x1,x2,label,split"
    assert {line.rsplit(",", 1)[1] for line in text.splitlines()[1:]} == {"train", "test"}
    back = load_csv(text, test_fraction=0.5, seed=99)  # split column wins over these
    for field in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(back, field), getattr(d, field))
    assert back.n_classes == k
    back_bytes = load_csv(io.BytesIO(text.encode()))
    np.testing.assert_array_equal(back_bytes.x_test, d.x_test)


def test_csv_plain_file_is_split_and_remapped() -> None:
    text = _csv("X1, X2 ,Label", *_rows(10, labels=(-1, 1)))
    d = load_csv(text, test_fraction=0.3, seed=1)
    assert d.n_classes == 2 and d.n_train + d.n_test == 20 and d.n_test == 6
    assert set(d.y_train.tolist()) == {0, 1} == set(d.y_test.tolist())
    assert d.x_all.dtype == np.float32
    again = load_csv(text.encode(), test_fraction=0.3, seed=1)
    np.testing.assert_array_equal(again.x_train, d.x_train)


def test_csv_headerless_reordered_columns_and_sources() -> None:
    headerless = _csv(*_rows(4, labels=(2, 5)))
    d = load_csv(headerless)
    assert d.n_train + d.n_test == 8 and d.n_classes == 2
    swapped = _csv("label,x2,x1", *[f"{i % 2},{i},{-i}" for i in range(10)])
    s = load_csv(io.StringIO(swapped))
    np.testing.assert_array_equal(np.sort(s.x_all[:, 0]), -np.arange(10)[::-1])
    bom = load_csv(b"\xef\xbb\xbf" + _csv("x1,x2,label", "", *_rows(4)).encode())
    assert bom.n_train + bom.n_test == 8


def test_csv_split_column_respected_without_shuffle() -> None:
    lines = [f"{i},{i},{i % 2},{'test' if i >= 8 else 'TRAIN'}" for i in range(12)]
    d = load_csv(_csv("x1,x2,label,split", *lines))
    np.testing.assert_array_equal(d.x_train[:, 0], np.arange(8))
    np.testing.assert_array_equal(d.x_test[:, 0], [8, 9, 10, 11])


def test_csv_max_rows_and_size_limit() -> None:
    text = _csv("x1,x2,label", *_rows(10))
    with pytest.raises(DatasetError, match="more than 15 data rows"):
        load_csv(text, max_rows=15)
    assert load_csv(text, max_rows=20).n_train > 0
    with pytest.raises(DatasetError, match="2 MB"):
        load_csv(b"1,2,0\n" * 400_000)


BAD_CSVS = [
    pytest.param("", "empty", id="empty"),
    pytest.param("  \n\n", "empty", id="whitespace-only"),
    pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary", id="binary"),
    pytest.param(b"x1,x2,label\n\xff\xfe,1,0\n", "UTF-8", id="undecodable"),
    pytest.param("x1,x2,label\n", "no data rows", id="header-only"),
    pytest.param(_csv("x1,x2", *["1,2"] * 10), "missing the column", id="missing-column"),
    pytest.param(_csv("x1,x2,colour", *_rows()), "column 'colour'", id="unknown-column"),
    pytest.param(_csv("x1,x1,label", *_rows()), "more than once", id="duplicate-column"),
    pytest.param(_csv("x1,x2,label", *_rows(), "1,2"), "Row 12 has 2 column", id="short-row"),
    pytest.param(_csv(*_rows(), "1,2,0,9"), "exactly 3 columns", id="headerless-4-columns"),
    pytest.param(_csv("x1;x2;label", *["1;2;0"] * 10), "commas", id="semicolons"),
    pytest.param(_csv("x1,x2,label", *_rows(), "1,abc,0"), "Row 12, column x2", id="text-cell"),
    pytest.param(
        _csv("x1,x2,label", *_rows(), ",1,0"), "Row 12, column x1 is empty", id="empty-cell"
    ),
    pytest.param(_csv("x1,x2,label", "nan,1,0", *_rows()), "not a finite number", id="nan"),
    pytest.param(_csv("x1,x2,label", "1,-inf,0", *_rows()), "not a finite number", id="inf"),
    pytest.param(_csv("x1,x2,label", "1,1e999,0", *_rows()), "not a finite number", id="overflow"),
    pytest.param(_csv("x1,x2,label", "1001,1,0", *_rows()), "allowed range", id="too-large"),
    # A fractional label makes regression data (tests/test_regression.py); equal targets cannot.
    pytest.param(
        _csv("x1,x2,target", *(f"{i},1,0.5" for i in range(9))), "vary", id="constant-target"
    ),
    pytest.param(_csv("x1,x2,label", "1,1,cat", *_rows()), "Row 2, column label", id="text-label"),
    pytest.param(_csv("x1,x2,label", "1,1,1e9", *_rows()), "label", id="huge-label"),
    pytest.param(_csv("x1,x2,label", *_rows(2)), "at least 8 rows", id="too-few-rows"),
    pytest.param(_csv("x1,x2,label", *_rows(10, (3,))), "2 different classes", id="one-class"),
    pytest.param(_csv(*_rows(2, tuple(range(6)))), "at most 5 classes", id="six-classes"),
    pytest.param(_csv(*_rows(5), "1,1,2"), "label 2 has only 1 row", id="singleton-class"),
    pytest.param(
        _csv("x1,x2,label,split", *[f"{r},val" for r in _rows()]), "split", id="bad-split"
    ),
    pytest.param(
        _csv(
            "x1,x2,label,split", *[f"{r},{'test' if r.endswith('1') else 'train'}" for r in _rows()]
        ),
        "split has no rows with label 1",
        id="class-missing-from-split",
    ),
    pytest.param(_csv("x1,x2,label", '"1,2,0', *_rows()), "1 column", id="bad-quoting"),
    pytest.param(_csv("x1,x2,label", "1_0,2,0", *_rows()), "not a number", id="underscore-number"),
    # Python's float() reads these as 12.0 and 1.0; a CSV file means ASCII digits only.
    pytest.param(
        _csv("x1,x2,label", "١٢,2,0", *_rows()), "Row 2, column x1", id="arabic-indic-digits"
    ),
    pytest.param(_csv("x1,x2,label", "1,１,0", *_rows()), "Row 2, column x2", id="fullwidth-digit"),
    pytest.param(_csv("x1,x2,label", "1,2,١", *_rows()), "Row 2, column label", id="label-digit"),
    pytest.param(_csv("١,٢,٠", *_rows()), "Unexpected column", id="non-ascii-row-is-no-number"),
]


@pytest.mark.parametrize(("text", "word"), BAD_CSVS)
def test_malformed_csv_rejected(text: str | bytes, word: str) -> None:
    with pytest.raises(DatasetError) as info:
        load_csv(text)
    message = str(info.value)
    assert word in message
    assert "\n" not in message and message.endswith(".")


def test_only_ascii_digits_are_numbers_although_python_reads_others() -> None:
    assert float("١٢") == 12.0  # why the check is needed
    plain = _csv("x1,x2,label", *_rows())
    assert load_csv(plain).n_train + load_csv(plain).n_test == 10
    with pytest.raises(DatasetError, match="not a number"):
        load_csv(plain.replace("0.1,", "٠.١,", 1))
