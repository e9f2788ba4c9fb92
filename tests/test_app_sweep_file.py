"""The Sweep page's "Open results" in AppTest: a results file of the command line opens with its
summary and a sliced grid; other Parquet files and garbage give one line, never a traceback."""

from __future__ import annotations

import io
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from app_harness import APP, TIMEOUT, texts
from streamlit.testing.v1 import AppTest
from sweep_files import accuracy, write_fake_results

PAGE = "app_pages/sweep.py"


def _open() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["n"] = "64"
    at.switch_page(PAGE)
    return at.run()


def _upload(at: AppTest, name: str, raw: bytes) -> AppTest:
    return (
        at.file_uploader(key="sweep_file").set_value((name, raw, "application/octet-stream")).run()
    )


def _grid_chart(at: AppTest) -> dict:
    chart = next(el for el in at.get("plotly_chart") if el.proto.id.endswith("sweep_file_grid"))
    return json.loads(chart.proto.spec)


def _clean(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


@pytest.fixture(scope="module")
def results_file(tmp_path_factory) -> bytes:
    return write_fake_results(tmp_path_factory.mktemp("r") / "results.parquet").read_bytes()


def test_a_results_file_opens_with_its_summary_and_a_sliced_grid(results_file) -> None:
    at = _upload(_open(), "results.parquet", results_file)
    _clean(at)
    assert texts(at.warning) == "" and texts(at.error) == ""
    page = " ".join(md.value for md in at.markdown)
    assert "12 cells, 20 steps each: 11 ok, 1 diverged" in page
    assert "**Learning rate**: 0.01, 0.1" in page and "**Weight seed**: 0, 1, 2" in page
    assert "**Depth T**: 0.5, 1" in page
    assert "**Best test accuracy 61.0 %** at lr 0.1 · seed 2 · T 1" in page
    train = json.loads(at.json[0].value)["train"]  # the best cell's full settings
    assert (train["lr"], train["seed"]) == (0.1, 2)
    # lr down, seed across, T held at its first value: cells 0, 2, 4 / 6, 8, 10.
    assert (
        at.selectbox(key="sweep_file_rows").value,
        at.selectbox(key="sweep_file_cols").value,
    ) == (
        "lr",
        "seed",
    )
    assert at.selectbox(key="sweep_file_at_T").value == 0
    grid = _grid_chart(at)
    assert grid["layout"]["yaxis"]["ticktext"] == ["0.01", "0.1"]
    assert grid["layout"]["xaxis"]["ticktext"] == ["0", "1", "2"]
    heat = grid["data"][0]
    shown = [[f"{100 * accuracy(c):.0f}%" for c in row] for row in ([0, 2, 4], [6, 8, 10])]
    assert heat["text"] == shown
    assert "Test accuracy at T 0.5" in page

    at.selectbox(key="sweep_file_at_T").set_value(1).run()  # slice at T = 1
    heat = _grid_chart(at)["data"][0]
    assert heat["text"] == [["51%", "53%", "55%"], ["57%<br>diverged", "59%", "61%"]]
    at.selectbox(key="sweep_file_metric").set_value("nfe").run()
    assert _grid_chart(at)["data"][0]["text"][0] == ["101", "103", "105"]
    at.selectbox(key="sweep_file_cols").set_value("T").run()  # lr x T, seed held at 0
    _clean(at)
    assert at.selectbox(key="sweep_file_at_seed").value == 0
    assert _grid_chart(at)["data"][0]["text"] == [["100", "101"], ["106", "107<br>diverged"]]


def _parquet(table: pa.Table, metadata: dict | None = None) -> bytes:
    if metadata is not None:
        table = table.replace_schema_metadata(metadata)
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


@pytest.mark.parametrize(
    ("name", "raw", "reason"),
    [
        ("other.parquet", _parquet(pa.table({"a": [1, 2]})), "not a deqnet sweep file"),
        (
            "pandas.parquet",
            _parquet(pa.Table.from_pandas(pd.DataFrame({"lr": [0.1], "test_acc": [0.9]}))),
            "not a deqnet sweep file",
        ),
        (
            "columns.parquet",
            _parquet(
                pa.table({"cell": [0]}),
                {b"deqnet": b'{"format": 1, "grid": {"lr": [0.1]}, "steps": 5}'},
            ),
            "unexpected columns",
        ),
        ("garbage.parquet", b"PAR1 this is not parquet at all", "is not a Parquet file"),
        ("empty.parquet", b"", "is not a Parquet file"),
    ],
)
def test_other_files_give_a_one_line_notice(name: str, raw: bytes, reason: str) -> None:
    at = _upload(_open(), name, raw)
    _clean(at)
    notice = texts(at.warning).replace("\\", "")
    assert "That file cannot be opened:" in notice and reason in notice, notice
    assert "\n" not in notice.strip()
    assert not [el for el in at.get("plotly_chart") if el.proto.id.endswith("sweep_file_grid")]
    at.file_uploader(key="sweep_file").set_value(None).run()  # removing it clears the notice
    _clean(at)
    assert "cannot be opened" not in texts(at.warning)


def test_a_one_axis_file_is_one_column_without_slices(tmp_path) -> None:
    raw = write_fake_results(
        tmp_path / "one.parquet", {"seed": [0, 1, 2]}, diverged=()
    ).read_bytes()
    at = _upload(_open(), "one.parquet", raw)
    _clean(at)
    assert "3 cells, 20 steps each: 3 ok" in " ".join(md.value for md in at.markdown)
    assert not [sb for sb in at.selectbox if sb.key in ("sweep_file_cols", "sweep_file_at_lr")]
    grid = _grid_chart(at)
    assert grid["layout"]["yaxis"]["ticktext"] == ["0", "1", "2"]
    assert grid["data"][0]["text"] == [["50%"], ["51%"], ["52%"]]


def test_a_file_that_unpacks_to_too_many_rows_points_to_the_notebook(
    monkeypatch, results_file
) -> None:
    monkeypatch.setattr("ui.sweep_file.MAX_ROWS", 10)
    at = _upload(_open(), "results.parquet", results_file)
    _clean(at)
    notice = texts(at.warning).replace("\\", "")
    assert "results.parquet holds 12 rows" in notice and "“Big sweeps”" in notice, notice


def test_grid_values_that_are_not_settings_are_refused_not_shown(results_file) -> None:
    table = pq.read_table(io.BytesIO(results_file))
    meta = json.loads(table.schema.metadata[b"deqnet"])
    meta["grid"]["seed"][2] = "![x](https://example.com/x.png)<b>"
    raw = _parquet(table, {b"deqnet": json.dumps(meta).encode()})
    at = _upload(_open(), "odd.parquet", raw)
    _clean(at)
    notice = texts(at.warning)
    assert "its grid holds a value that is not a setting" in notice.replace("\\", "")
    assert "<b>" not in notice and "](" not in notice  # escaped, inert
    assert not [el for el in at.get("plotly_chart") if el.proto.id.endswith("sweep_file_grid")]
