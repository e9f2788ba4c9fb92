"""Run files: exact round trip, and a campaign of malformed files that must all be rejected."""

from __future__ import annotations

import copy
import io
import json
import random

import pytest
import torch

from deqnet import build_model, make_dataset
from deqnet.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from deqnet.sharing import (
    LoadedRun,
    RunFileError,
    check_loaded_run_behaves,
    run_from_json,
    run_to_json,
)
from deqnet.training import Trainer

RUN = RunConfig(
    data=DataConfig(name="moons", n=64, seed=1),
    model=ModelConfig(family="node", time_mode="piecewise", segments=2, width=4, steps=4),
    train=TrainConfig(train_steps=3, seed=2),
)


@pytest.fixture(scope="module")
def data():
    return RUN.data.make()


@pytest.fixture(scope="module")
def trained(data):
    model = build_model(RUN.model, data.n_classes, seed=RUN.train.seed)
    trainer = Trainer(model, data, RUN.train)
    trainer.step(RUN.train.train_steps)
    assert trainer.status == "ok"
    return model, trainer.history


@pytest.fixture(scope="module")
def text(trained) -> str:
    model, history = trained
    return run_to_json(RUN, model, history)


def assert_clear_error(err: RunFileError) -> None:
    message = str(err)
    assert message.endswith(".") and "\n" not in message and len(message) <= 320
    assert "<" not in message and ">" not in message


# --------------------------------------------------------------------------------------------
# Valid files
# --------------------------------------------------------------------------------------------


def test_round_trip_is_exact(trained, text, data):
    model, history = trained
    loaded = run_from_json(text)
    assert isinstance(loaded, LoadedRun)
    assert loaded.run == RUN and loaded.n_classes == 2
    assert loaded.history == history
    state = model.state_dict()
    assert set(loaded.state_dict) == set(state)
    for name, tensor in state.items():
        assert loaded.state_dict[name].dtype == torch.float32
        assert torch.equal(loaded.state_dict[name], tensor), name
    x = torch.as_tensor(data.x_test)
    with torch.no_grad():
        assert torch.equal(loaded.build()(x), model(x))
    assert check_loaded_run_behaves(loaded, data) is None
    assert run_from_json(text.encode("utf-8")).run == RUN
    assert run_from_json(b"\xef\xbb\xbf" + text.encode("utf-8")).run == RUN  # UTF-8 BOM
    assert run_from_json(io.BytesIO(text.encode("utf-8"))).run == RUN  # like an UploadedFile


def test_float64_model_loads_as_float32():
    run = RunConfig(
        data=DataConfig(name="spiral", n_classes=3, n=30),
        model=ModelConfig(family="resnet", time_mode="piecewise", segments=3, layers=3, width=3),
    )
    model = build_model(run.model, 3, seed=5).double()
    loaded = run_from_json(run_to_json(run, model, []))
    assert loaded.n_classes == 3 and loaded.history == []
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded.state_dict[name], tensor.float())


def test_non_finite_weights_cannot_be_saved():
    model = build_model(RUN.model, 2)
    with torch.no_grad():
        model.readout.bias[0] = float("nan")
    with pytest.raises(RunFileError, match="not finite"):
        run_to_json(RUN, model, [])


def test_too_large_is_checked_before_parsing(text):
    with pytest.raises(RunFileError, match="larger than"):
        run_from_json(text, max_bytes=len(text) - 1)
    assert run_from_json(text, max_bytes=len(text)).run == RUN
    with pytest.raises(RunFileError, match="larger than"):
        run_from_json(io.BytesIO(text.encode("utf-8")), max_bytes=len(text) - 1)


# --------------------------------------------------------------------------------------------
# Malformed-file campaign
# --------------------------------------------------------------------------------------------

RAW_TOKEN = "__raw_number__"


def _dump(doc, raw: str | None = None) -> str:
    out = json.dumps(doc)  # allow_nan: NaN/Infinity tokens are written on purpose
    return out.replace(json.dumps(RAW_TOKEN), raw) if raw is not None else out


def _random_leaf_path(doc, rng: random.Random) -> tuple[str, list[int]]:
    name = rng.choice(sorted(doc["weights"]))
    node, path = doc["weights"][name], []
    while isinstance(node, list):
        path.append(rng.randrange(len(node)))
        node = node[path[-1]]
    return name, path


def _set_leaf(doc, name, path, value) -> None:
    node = doc["weights"][name]
    for i in path[:-1]:
        node = node[i]
    if path:
        node[path[-1]] = value
    else:
        doc["weights"][name] = value


def _leaf_cases(doc, rng):
    bad = [float("nan"), float("inf"), float("-inf"), 1e5, 10001, -10000.5, "0.5", True, None,
           [0.1], {}, 10**400]  # fmt: skip
    for value in bad:
        for _ in range(2):
            d = copy.deepcopy(doc)
            _set_leaf(d, *_random_leaf_path(d, rng), value)
            yield f"leaf {value!r:.20}", _dump(d)
    for raw in ("1e999", "-1e999", "1" * 5000):
        d = copy.deepcopy(doc)
        _set_leaf(d, *_random_leaf_path(d, rng), RAW_TOKEN)
        yield f"raw leaf {raw[:10]}", _dump(d, raw)


def _shape_cases(doc, rng):
    for _ in range(8):
        for action in ("drop", "append", "scalar", "wrap"):
            d = copy.deepcopy(doc)
            name, path = _random_leaf_path(d, rng)
            depth = rng.randrange(len(path))  # which nesting level to damage
            parent = d["weights"][name]
            for i in path[:depth]:
                parent = parent[i]
            if action == "drop":
                parent.pop(rng.randrange(len(parent)))
            elif action == "append":
                parent.append(copy.deepcopy(parent[0]))
            elif action == "scalar":
                parent[path[depth]] = 0.5 if isinstance(parent[path[depth]], list) else [0.5]
            else:
                parent[path[depth]] = [parent[path[depth]]]
            yield f"shape {action}", _dump(d)


def _name_cases(doc, rng):
    for name in sorted(doc["weights"]):
        d = copy.deepcopy(doc)
        del d["weights"][name]
        yield "missing weight", _dump(d)
        d = copy.deepcopy(doc)
        d["weights"][name + "_x"] = d["weights"].pop(name)
        yield "renamed weight", _dump(d)
    d = copy.deepcopy(doc)
    d["weights"]["<script>alert(1)</script>"] = 0.5
    yield "extra weight", _dump(d)
    d = copy.deepcopy(doc)
    d["weights"] = list(d["weights"].values())
    yield "weights list", _dump(d)


def _top_level_cases(doc, rng):
    for key in list(doc):
        d = copy.deepcopy(doc)
        del d[key]
        yield f"missing {key}", _dump(d)
    yield "extra key", _dump({**doc, "pickle": "cos\nsystem"})
    for fmt in ("deqnet-Run", "", None, 1, ["deqnet-run"]):
        yield f"format {fmt!r}", _dump({**doc, "format": fmt})
    for version in (2, 0, -1, "1", True, 1.0, None, [1]):
        yield f"version {version!r}", _dump({**doc, "version": version})
    for top in ([doc], "deqnet-run", 1, None, True):
        yield f"top {top!r:.10}", _dump(top)
    yield "duplicate key", '{"format":"deqnet-run",' + _dump(doc)[1:]


def _config_cases(doc, rng):
    bad = [None, "???", [], {}, True, 1e9, -1e9, "<img src=x onerror=alert(1)>"]
    for section in ("data", "model", "train"):
        fields = sorted(doc["config"][section])
        for _ in range(6):
            d = copy.deepcopy(doc)
            d["config"][section][rng.choice(fields)] = rng.choice(bad)
            yield f"config {section} value", _dump(d)
        d = copy.deepcopy(doc)
        del d["config"][section][rng.choice(fields)]
        yield f"config {section} missing field", _dump(d)
        d = copy.deepcopy(doc)
        d["config"][section]["bogus"] = 1
        yield f"config {section} extra field", _dump(d)
        d = copy.deepcopy(doc)
        del d["config"][section]
        yield f"config missing {section}", _dump(d)
        d = copy.deepcopy(doc)
        d["config"][section] = [1, 2]
        yield f"config {section} not an object", _dump(d)
    d = copy.deepcopy(doc)
    d["config"]["model"].update(family="resnet", time_mode="piecewise", segments=9, layers=3)
    yield "segments above layers", _dump(d)
    d = copy.deepcopy(doc)
    d["config"]["model"].update(family="feedforward", time_mode="time")
    yield "time mode not allowed", _dump(d)
    d = copy.deepcopy(doc)
    d["config"]["data"].update(name="moons", n_classes=3)
    yield "classes not allowed", _dump(d)
    yield "config extra section", _dump({**doc, "config": {**doc["config"], "view": {}}})


def _classes_cases(doc, rng):
    for value in (1, 6, 0, -2, "2", True, 2.5, None, 3, 10**30):
        yield f"n_classes {value!r:.10}", _dump({**doc, "n_classes": value})


def _history_cases(doc, rng):
    record = doc["history"][0]
    mutations = [("loss", float("nan")), ("loss", -1.0), ("train_acc", 1.5), ("test_acc", "1"),
                 ("step", "1"), ("step", True), ("step", 0.5), ("nfe_forward", -3),
                 ("seconds", float("inf")), ("loss", None)]  # fmt: skip
    for key, value in mutations:
        d = copy.deepcopy(doc)
        d["history"][rng.randrange(len(d["history"]))][key] = value
        yield f"history {key}={value!r}", _dump(d)
    d = copy.deepcopy(doc)
    del d["history"][1]["loss"]
    yield "history missing key", _dump(d)
    d = copy.deepcopy(doc)
    d["history"][2]["extra"] = 1
    yield "history extra key", _dump(d)
    d = copy.deepcopy(doc)
    d["history"][0], d["history"][1] = d["history"][1], d["history"][0]
    yield "history steps decrease", _dump(d)
    yield "history too long", _dump({**doc, "history": [record] * 5001})
    yield "history not a list", _dump({**doc, "history": {"0": record}})
    yield "history record list", _dump({**doc, "history": [list(record.values())]})


def _text_cases(text: str, rng: random.Random):
    for _ in range(25):
        yield "truncated", text[: rng.randrange(1, len(text))]
    for _ in range(25):
        i = rng.randrange(len(text) + 1)
        yield "inserted char", text[:i] + rng.choice(["\x00", "{", "]", ":", '"']) + text[i:]
    raw = text.encode("utf-8")
    for _ in range(10):
        i = rng.randrange(len(raw))
        yield "invalid utf-8", raw[:i] + rng.choice([b"\xff", b"\xc3", b"\x80\x80"]) + raw[i + 1 :]
    for _ in range(15):
        yield "binary junk", bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000)))
    yield "empty", ""
    yield "whitespace", "  \n "
    yield "huge", text + " " * (5_000_001 - len(text))
    yield "huge bytes", b"{" * 5_000_001
    yield "deep nesting", "[" * 100_000 + "]" * 100_000
    yield "huge integer", "1" * 5000
    yield "python pickle", b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x94."
    yield "python literal", "{'format': 'deqnet-run', 'version': 1}"


def malformed_files(text: str):
    rng = random.Random(0)
    doc = json.loads(text)
    for make in (_leaf_cases, _shape_cases, _name_cases, _top_level_cases, _config_cases,
                 _classes_cases, _history_cases):  # fmt: skip
        yield from make(doc, rng)
    yield from _text_cases(text, rng)


def test_malformed_file_campaign(text):
    kinds: dict[str, int] = {}
    for kind, payload in malformed_files(text):
        with pytest.raises(RunFileError) as info:
            run_from_json(payload)
        assert_clear_error(info.value)
        kinds[kind.split()[0]] = kinds.get(kind.split()[0], 0) + 1
    n = sum(kinds.values())
    assert n >= 200
    print(f"Run-file campaign: {n} malformed files rejected ({len(kinds)} kinds)")


# --------------------------------------------------------------------------------------------
# Weights that load but make the model diverge
# --------------------------------------------------------------------------------------------

DIVERGING = [
    ModelConfig(family="ruseckas", solver="euler", steps=10, T=10.0, gamma=0.0),
    ModelConfig(family="ruseckas", solver="rk4", steps=5, T=10.0, time_mode="piecewise"),
    ModelConfig(family="ruseckas", solver="dopri5", max_steps=10),
    ModelConfig(family="node", activation="relu", T=10.0, width=8),
    ModelConfig(family="node", solver="dopri5", activation="relu", max_steps=10),
    ModelConfig(family="resnet", activation="relu", layers=50, width=8),
    ModelConfig(family="feedforward", layers=20, T=10.0),
    ModelConfig(family="feedforward", layers=30, T=10.0, nonlinearity="sine", augment=2),
]


@pytest.mark.parametrize("config", DIVERGING, ids=lambda c: f"{c.family}-{c.solver}")
def test_diverging_weights_load_but_are_reported(config):
    data = make_dataset("moons", n=32, seed=0)
    rng = torch.Generator().manual_seed(0)
    model = build_model(config, 2)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if not name.startswith("readout."):
                # Large positive weights (within the 1e4 cap) give a strongly expanding flow.
                param.copy_(1e4 * (0.5 + 0.5 * torch.rand(param.shape, generator=rng)))
    loaded = run_from_json(run_to_json(RunConfig(model=config), model, []))
    message = check_loaded_run_behaves(loaded, data)
    assert message is not None and "<" not in message
    assert "diverges" in message


def test_class_mismatch_is_reported(text):
    loaded = run_from_json(text)
    spiral = make_dataset("spiral", n=30, n_classes=3)
    assert "3" in check_loaded_run_behaves(loaded, spiral)
