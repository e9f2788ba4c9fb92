"""Hostile uploads through the Playground's own upload handler: refused, and nothing changes.

The campaign feeds malformed CSV files (generated here) and malformed run files (the generator
of tests/test_sharing_runfile.py, which checks the codec alone) to ``ui.links._load_upload``,
the function the uploader widget calls with the file's name and bytes. One session receives every
file in turn: each must give a clear, markdown-safe error and leave the session's settings, data,
model weights and history exactly as they were. A few files also go through the real uploader
widget in AppTest, and valid files are accepted (so the harness really reaches the handler).
"""

from __future__ import annotations

import json
import random
import re

import pytest
import torch
from app_harness import start, texts  # noqa: F401
from test_sharing_runfile import malformed_files

from deqnet import DataConfig, ModelConfig, RunConfig, TrainConfig, Trainer, build_model
from deqnet.sharing import run_to_json
from deqnet.sharing.csvfile import MAX_CSV_BYTES, dataset_to_csv
from ui.links import _load_upload
from ui.state import Session, new_session

RUN = RunConfig(
    data=DataConfig(name="moons", n=64, seed=1),
    model=ModelConfig(width=4, steps=4),
    train=TrainConfig(train_steps=3, seed=2),
)
MESSAGE_LIMIT = 600  # characters of one error message on screen


@pytest.fixture(scope="module")
def run_text() -> str:
    data = RUN.data.make()
    model = build_model(RUN.model, data.n_classes, seed=RUN.train.seed)
    trainer = Trainer(model, data, RUN.train)
    trainer.step(RUN.train.train_steps)
    return run_to_json(RUN, model, trainer.history)


@pytest.fixture(scope="module")
def csv_text() -> str:
    return dataset_to_csv(RUN.data.make())


# --------------------------------------------------------------------------------------------
# Malformed CSV files
# --------------------------------------------------------------------------------------------

BAD_COORDINATES = ["nan", "NaN", "inf", "-Infinity", "1e999", "1001", "-1000.5", "", " ", "abc",
                   "0x10", "1_0", "1,5", "<script>alert(1)</script>", "=cmd|' /C calc'!A0",
                   "[x](javascript:alert(1))", "1e", "--1", "a" * 5000]  # fmt: skip
# Not 1.5 or 0.0001: a label that is not whole makes the file regression data (csvfile's rule).
BAD_LABELS = ["nan", "inf", "1e20", "", "x", "<b>0</b>", "2e3", "-1e999", "0x1", "1,5"]
BAD_SPLITS = ["validation", "", "TRAINING", "<img src=x onerror=alert(1)>", "1"]


def _rows(text: str) -> tuple[str, list[list[str]]]:
    header, *rows = text.strip().split("\n")
    return header, [row.split(",") for row in rows]


def _join(header: str | None, rows: list[list[str]]) -> str:
    lines = ([header] if header is not None else []) + [",".join(row) for row in rows]
    return "\n".join(lines) + "\n"


def _cell_cases(text: str, rng: random.Random):
    header, rows = _rows(text)
    for column, values in ((0, BAD_COORDINATES), (1, BAD_COORDINATES), (2, BAD_LABELS),
                           (3, BAD_SPLITS)):  # fmt: skip
        for value in values:
            for _ in range(2):  # two random rows per value
                bad = [list(row) for row in rows]
                bad[rng.randrange(len(bad))][column] = value
                yield ("decimal comma" if "," in value else f"cell {column}"), _join(header, bad)


def _row_cases(text: str, rng: random.Random):
    header, rows = _rows(text)
    for extra in (["1"], ["", ""], ["train"]):
        bad = [list(row) for row in rows]
        bad[rng.randrange(len(bad))] += extra
        yield "extra column", _join(header, bad)
    for cut in (1, 2, 3):
        bad = [list(row) for row in rows]
        bad[rng.randrange(len(bad))] = bad[0][:-cut]
        yield "missing column", _join(header, bad)
    yield "too few rows", _join(header, rows[:7])
    yield "one class", _join(header, [r for r in rows if r[2] == "0"])
    yield "six classes", _join(header, [[r[0], r[1], str(i % 6), r[3]] for i, r in enumerate(rows)])
    lonely = [list(row) for row in rows]
    lonely[0][2] = "7"
    yield "class with one row", _join(header, lonely)
    yield "no test rows", _join(header, [[*r[:3], "train"] for r in rows])
    yield "no train rows", _join(header, [[*r[:3], "test"] for r in rows])
    yield "too many rows", _join(header, [rows[i % len(rows)] for i in range(10_001)])
    yield "headerless, 4 columns", _join(None, rows)
    yield "header only", header + "\n"
    yield "semicolons", _join(header.replace(",", ";"), [[";".join(r)] for r in rows])
    yield "tabs", _join(header.replace(",", "\t"), [["\t".join(r)] for r in rows])


def _header_cases(text: str):
    _, rows = _rows(text)
    for header in ("x1,x2,y,split", "x1,x1,label,split", "x1,label,split,x3", "a,b,c,d",
                   "<script>,x2,label,split", "x1,x2,label,split,extra", "x1 x2 label split",
                   "x1,x2,,split"):  # fmt: skip
        yield f"header {header[:12]}", _join(header, rows)


def _file_cases(text: str, rng: random.Random):
    yield "empty", ""
    yield "whitespace", " \n\t\n"
    yield "BOM only", "\ufeff"
    yield "NUL byte", text[:50] + "\x00" + text[50:]
    yield "too large", text + "0,0,0,train\n" * (MAX_CSV_BYTES // 12 + 1)
    yield "huge single line", "1" * (MAX_CSV_BYTES + 10)
    yield "unbalanced quote", text.replace("\n", '\n"', 1)
    raw = text.encode()
    for _ in range(5):
        i = rng.randrange(len(raw))
        yield "invalid utf-8", raw[:i] + b"\xff\xfe" + raw[i:]
    for _ in range(5):
        yield "binary junk", bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4000)))
    yield "json in a csv", json.dumps({"format": "deqnet-run"})
    yield "pickle in a csv", b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x94."


def malformed_csv_files(text: str):
    rng = random.Random(1)
    yield from _cell_cases(text, rng)
    yield from _row_cases(text, rng)
    yield from _header_cases(text)
    yield from _file_cases(text, rng)


# --------------------------------------------------------------------------------------------
# The campaign
# --------------------------------------------------------------------------------------------


def _snapshot(session: Session) -> dict:
    """Everything an upload could change, copied."""
    return {
        "run": session.run,
        "wanted": json.dumps(session.wanted, sort_keys=True),
        "data": session.data,
        "x_train": session.data.x_train.copy(),
        "y_train": session.data.y_train.copy(),
        "model": session.model,
        "weights": {k: v.detach().clone() for k, v in session.model.state_dict().items()},
        "trainer": session.trainer,
        "history": list(session.trainer.history),
        "custom_data": session.custom_data,
        "version": session.version,
        "notes": list(session.notes),
    }


def assert_unchanged(session: Session, before: dict, what: str) -> None:
    after = _snapshot(session)
    for key in ("run", "wanted", "history", "version", "notes"):
        assert after[key] == before[key], (what, key)
    for key in ("data", "model", "trainer", "custom_data"):
        assert after[key] is before[key], (what, key)
    assert (after["x_train"] == before["x_train"]).all(), what
    assert (after["y_train"] == before["y_train"]).all(), what
    assert after["weights"].keys() == before["weights"].keys()
    assert all(torch.equal(after["weights"][k], before["weights"][k]) for k in before["weights"])


def assert_clear_message(message: str | None, what: str) -> None:
    assert isinstance(message, str) and message.strip(), what
    assert "<" not in message and ">" not in message, (what, message[:200])
    assert "Traceback" not in message, what
    # Markdown links and images cannot form: every bracket and parenthesis is escaped.
    assert not re.search(r"(?<!\\)[\[\]()]", re.sub(r"\\.", "", message)), (what, message[:200])


def test_malformed_uploads_are_refused_and_change_nothing(run_text: str, csv_text: str) -> None:
    session = new_session(RUN)
    session.trainer.step(2)
    before = _snapshot(session)
    counts = {"csv": 0, "json": 0}
    for kind, payload in malformed_csv_files(csv_text):
        raw = payload.encode() if isinstance(payload, str) else payload
        assert_clear_message(_load_upload(session, "data.csv", raw), f"csv {kind}")
        assert_unchanged(session, before, f"csv {kind}")
        counts["csv"] += 1
    for kind, payload in malformed_files(run_text):
        raw = payload.encode() if isinstance(payload, str) else payload
        assert_clear_message(_load_upload(session, "run.json", raw), f"run {kind}")
        assert_unchanged(session, before, f"run {kind}")
        counts["json"] += 1
    total = counts["csv"] + counts["json"]
    print(
        f"\nUpload campaign: {total} tried ({counts['csv']} CSV, {counts['json']} run files), "
        f"{total} refused, session unchanged after each"
    )
    assert counts["csv"] >= 100 and total >= 200


def test_error_messages_stay_short_whatever_the_file_holds(csv_text: str) -> None:
    """A cell of 5000 characters must not come back as a 5000-character message."""
    header, rows = _rows(csv_text)
    rows[3][0] = "a" * 5000
    message = _load_upload(new_session(RUN), "data.csv", _join(header, rows).encode())
    assert message is not None and len(message) <= MESSAGE_LIMIT, len(message or "")


def test_a_run_file_whose_model_diverges_is_refused_and_changes_nothing() -> None:
    run = RunConfig(model=ModelConfig(family="ruseckas", T=10.0, gamma=0.0), data=RUN.data)
    model = build_model(run.model, 2, seed=0)
    with torch.no_grad():
        model.linear.w.copy_(1e4 * torch.eye(2).expand_as(model.linear.w))  # within the 1e4 cap
    session = new_session(RUN)
    before = _snapshot(session)
    message = _load_upload(session, "run.json", run_to_json(run, model, []).encode())
    assert_clear_message(message, "diverging run")
    assert "diverge" in message
    assert_unchanged(session, before, "diverging run")


def test_valid_files_are_accepted_by_the_same_handler(run_text: str, csv_text: str) -> None:
    session = new_session(RunConfig())
    assert _load_upload(session, "data.csv", csv_text.encode()) is None
    assert session.custom_data is session.data and session.data.n_train + session.data.n_test == 64
    session = new_session(RunConfig())
    assert _load_upload(session, "run.json", run_text.encode()) is None
    assert session.run == RUN and session.steps_done == RUN.train.train_steps


def test_hostile_files_through_the_real_uploader_widget(run_text: str, csv_text: str) -> None:
    at = start(n="64", budget="25")
    at.button(key="pg_step").click().run()
    session = at.session_state["deqnet"]
    before = _snapshot(session)
    rng = random.Random(2)
    samples = [("data.csv", p) for _, p in malformed_csv_files(csv_text)]
    samples = rng.sample(samples, 3) + [("data.csv", "x1,x2,label\n<script>alert(1)</script>,0,0")]
    samples += [("run.json", p) for _, p in rng.sample(list(malformed_files(run_text)), 3)]
    for name, payload in samples:
        raw = payload.encode() if isinstance(payload, str) else payload
        at.file_uploader(key="pg_upload").set_value((name, raw, "application/octet-stream")).run()
        assert not at.exception, name
        shown = texts(at.error)
        assert shown and "<script" not in shown, name
        assert_unchanged(at.session_state["deqnet"], before, f"widget {name}")
    print(f"\nUploader widget: {len(samples)} hostile files refused")
