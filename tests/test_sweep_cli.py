"""``python -m deqnet.sweep``: a run's Parquet holds what ``deqnet.sweep`` computes in process;
Ctrl-C keeps the finished cells and ``--resume`` completes them; bad specs and foreign files are
refused with one line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from subprocesses import run_python

import deqnet
from deqnet.sweep import LocalExecutor
from deqnet.sweep import cli as sweep_cli
from deqnet.sweep.results_file import ResultsError, read_histories, read_results

ROOT = Path(__file__).resolve().parents[1]
SPEC = {
    "data": {"name": "moons", "n": 48, "test_fraction": 0.25},
    "model": {"family": "node", "solver": "rk4", "steps": 3, "width": 4},
    "train": {"lr": 0.02},
    "grid": {"lr": [0.01, 0.05], "seed": [0, 1]},
    "steps": 5,
}


def cli(*args: str) -> tuple[int, str]:
    """Run the command line in a fresh interpreter: (exit code, stderr)."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = run_python(["-m", "deqnet.sweep", *args], cwd=ROOT, env=env, timeout=300)
    return proc.returncode, proc.stderr


def write_spec(path: Path, spec: dict) -> Path:
    path.write_text(json.dumps(spec))
    return path


def in_process_sweep() -> deqnet.SweepResult:
    run = deqnet.RunConfig.from_dict({k: SPEC[k] for k in ("data", "model", "train")})
    return deqnet.sweep(run.data, run.model, run.train, SPEC["grid"], SPEC["steps"])


def test_round_trip_matches_the_in_process_sweep(tmp_path) -> None:
    out = tmp_path / "r.parquet"
    code, err = cli(str(write_spec(tmp_path / "s.json", SPEC)), "--out", str(out), "--histories")
    assert code == 0, err
    assert "4/4 cells 100%" in err and not (tmp_path / "r.parquet.journal.jsonl").exists()
    meta, frame = read_results(out)
    assert meta["grid"] == SPEC["grid"] and meta["steps"] == SPEC["steps"]
    assert meta["spec"]["model"]["width"] == 4 and meta["torch_version"] == torch.__version__
    assert meta["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    expected = in_process_sweep()
    assert list(frame.columns[:3]) == ["cell", "lr", "seed"]
    assert len(frame) == len(expected.cells)
    for row, cell in zip(frame.to_dict("records"), expected.cells, strict=True):
        assert (row["lr"], row["seed"]) == (cell.overrides["lr"], cell.overrides["seed"])
        assert (
            row["train.lr"] == cell.overrides["lr"] and row["train.seed"] == cell.overrides["seed"]
        )
        assert row["data.n"] == 48 and row["model.family"] == "node"
        assert {k: row[k] for k in cell.metrics} == cell.metrics  # exact: JSON keeps every bit
        assert (row["status"], row["message"], row["nfe"]) == (cell.status, cell.message, cell.nfe)
        assert row["chunk"] == cell.group
    _, histories = read_histories(tmp_path / "r.histories.parquet")
    assert len(histories) == 4 * SPEC["steps"]
    for cell_index, cell in enumerate(expected.cells):
        steps = histories[histories["cell"] == cell_index]
        expected_rows = [[r.step, r.loss, r.train_acc, r.test_acc] for r in cell.history]
        assert steps[["step", "loss", "train_acc", "test_acc"]].values.tolist() == expected_rows


class InterruptedAfterOneChunk(LocalExecutor):
    """Ctrl-C as the second chunk arrives (after the first one was journalled)."""

    def results(self, progress=None):
        for k, result in enumerate(super().results(progress)):
            if k == 1:
                raise KeyboardInterrupt
            yield result


def test_ctrl_c_keeps_finished_cells_and_resume_completes_them(tmp_path, monkeypatch, capsys):
    spec = write_spec(tmp_path / "s.json", SPEC)
    args = [str(spec), "--chunk-cells", "1", "--histories"]
    out, journal = tmp_path / "r.parquet", tmp_path / "r.parquet.journal.jsonl"
    monkeypatch.setattr(sweep_cli, "as_executor", lambda name: InterruptedAfterOneChunk())
    assert sweep_cli.main([*args, "--out", str(out)]) == 130
    assert "interrupted; 1 of 4 cells are in" in capsys.readouterr().err
    lines = journal.read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["cell"] == 0
    with journal.open("a") as file:  # a crash while writing the next chunk: a cut-off line
        file.write('{"cell": 1, "chu')
    assert sweep_cli.main([*args, "--out", str(out)]) == 2  # the journal needs --resume
    assert "pass --resume" in capsys.readouterr().err

    code, err = cli(*args, "--out", str(out), "--resume")
    assert code == 0, err
    monkeypatch.undo()
    assert sweep_cli.main([*args, "--out", str(tmp_path / "whole.parquet")]) == 0
    _, resumed = read_results(out)
    _, whole = read_results(tmp_path / "whole.parquet")
    pd.testing.assert_frame_equal(resumed.drop(columns="seconds"), whole.drop(columns="seconds"))
    histories = [read_histories(tmp_path / f"{n}.histories.parquet")[1] for n in ("r", "whole")]
    pd.testing.assert_frame_equal(*histories)


def test_a_journal_of_another_spec_is_refused(tmp_path, capsys) -> None:
    out = tmp_path / "r.parquet"
    (tmp_path / "r.parquet.journal.jsonl").write_text(
        json.dumps({"kind": "deqnet-sweep-journal", "format": 1, "digest": "x", "cells": 4}) + "\n"
    )
    spec = write_spec(tmp_path / "s.json", SPEC)
    assert sweep_cli.main([str(spec), "--out", str(out), "--resume"]) == 2
    assert "belongs to another spec" in capsys.readouterr().err


def test_a_bad_spec_exits_2_with_one_line(tmp_path) -> None:
    bad = write_spec(tmp_path / "s.json", {**SPEC, "grid": {"learning_rate": [0.1]}})
    code, err = cli(str(bad), "--out", str(tmp_path / "r.parquet"))
    assert code == 2
    assert err.strip().splitlines() == [
        f"deqnet.sweep: error: {bad}: cannot sweep over learning_rate; "
        "allowed names: lr, weight_decay, T, gamma, seed, noise, family, width, layers, solver, "
        "augment, steps, time_mode, segments, activation, nonlinearity"
    ]


BAD_SPECS = {
    "not JSON": ("{", "not JSON"),
    "a list": ("[1, 2]", "a spec is a JSON object"),
    "unknown key": (json.dumps({**SPEC, "epochs": 3}), "unknown spec keys ['epochs']"),
    "no grid": (json.dumps({"steps": 3}), "the spec needs 'grid'"),
    "bad steps": (json.dumps({**SPEC, "steps": 0}), "steps must be an integer from 1"),
    "bad section": (json.dumps({**SPEC, "model": [1]}), "model must be an object"),
    "bad setting": (json.dumps({**SPEC, "model": {"width": -1}}), "width=-1 is out of range"),
    "bad data": (json.dumps({**SPEC, "data": {"name": "spirals3"}}), "spirals3"),
    "bad value": (json.dumps({**SPEC, "grid": {"lr": [0.1, -1]}}), "invalid grid value: lr=-1"),
    "nested value": (json.dumps({**SPEC, "grid": {"lr": [[0.1]]}}), "numbers or names"),
    "over the cap": (
        json.dumps({**SPEC, "grid": {"lr": [0.01] * 1001}}),
        "allowed 1 to 1000",
    ),
}


@pytest.mark.parametrize("case", list(BAD_SPECS))
def test_bad_specs_are_refused_with_a_reason(tmp_path, capsys, case) -> None:
    text, reason = BAD_SPECS[case]
    spec = tmp_path / "s.json"
    spec.write_text(text)
    assert sweep_cli.main([str(spec), "--out", str(tmp_path / "r.parquet")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and reason in err, err
    assert not (tmp_path / "r.parquet.journal.jsonl").exists()


def test_read_results_refuses_files_that_are_not_deqnet_results(tmp_path) -> None:
    foreign = tmp_path / "foreign.parquet"
    pd.DataFrame({"cell": [0], "test_acc": [0.5]}).to_parquet(foreign)
    with pytest.raises(ResultsError, match="not a deqnet sweep file"):
        read_results(foreign)
    text = tmp_path / "text.parquet"
    text.write_text("cell,test_acc\n0,0.5\n")
    with pytest.raises(ResultsError, match="not a Parquet file"):
        read_results(text)
    # deqnet metadata over the wrong columns (a file edited or forged to look like ours)
    meta = {"format": 1, "grid": {"lr": [0.1]}, "steps": 3}
    table = pa.table({"cell": [0], "test_acc": [0.5]})
    pq.write_table(table.replace_schema_metadata({b"deqnet": json.dumps(meta)}), foreign)
    with pytest.raises(ResultsError, match="missing"):
        read_results(foreign)
    with pytest.raises(ResultsError, match="not histories"):
        read_histories(foreign)
