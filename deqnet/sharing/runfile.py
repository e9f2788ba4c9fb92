"""Run files: a trained run (config, weights, history) as plain JSON, and its strict loader.

Format (``version`` 1)::

    {"format": "deqnet-run", "version": 1,
     "config": RunConfig.to_dict(),            # every field of every section
     "n_classes": C,                           # readout size: classes 2..5, 1 = regression
     "weights": {name: nested lists},          # the model's state dict, shapes as build_model's
     "history": [StepRecord._asdict(), ...]}   # at most LIMITS["train_steps"][1] records

An uploaded file is untrusted: it is parsed with ``json`` only (never eval, pickle or torch.load)
and every part is checked. Problems raise :class:`RunFileError` whose message is one sentence,
safe to show with ``st.error`` (markdown-escaped, user text quoted at most 40 characters).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields
from typing import Any, BinaryIO

import numpy as np
import torch

from deqnet.config import LIMITS, ConfigError, DataConfig, ModelConfig, RunConfig, TrainConfig
from deqnet.datasets import MAX_CLASSES, Dataset, DatasetError
from deqnet.models import DeqModel, SolverFailure, build_model
from deqnet.sharing.text import clip_text, safe_text
from deqnet.training import StepRecord

__all__ = [
    "FORMAT",
    "MAX_ABS_WEIGHT",
    "VERSION",
    "LoadedRun",
    "RunFileError",
    "check_loaded_run_behaves",
    "run_from_json",
    "run_to_json",
]

FORMAT = "deqnet-run"
VERSION = 1
MAX_ABS_WEIGHT = 1e4
MAX_HISTORY = int(LIMITS["train_steps"][1])
_TOP_KEYS = ("format", "version", "config", "n_classes", "weights", "history")
_SECTIONS = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}
_RECORD_INTS = ("step", "nfe_forward", "nfe_backward")
_RECORD_FLOATS = ("loss", "train_acc", "test_acc", "seconds")
_JSON_KINDS = {str: "text", bool: "true/false", type(None): "null", dict: "an object"}


class RunFileError(ValueError):
    """An uploaded run file is unusable; the message is one markdown-safe sentence."""

    def __init__(self, message: str) -> None:
        super().__init__(safe_text(message, 300))


@dataclass(frozen=True, eq=False)
class LoadedRun:
    """A validated run file.

    Attributes:
        run: the RunConfig.
        state_dict: name -> float32 tensor, shapes as ``build_model(run.model, n_classes)``.
        history: the training records.
        n_classes: classes of the readout.
    """

    run: RunConfig
    state_dict: dict[str, torch.Tensor]
    history: list[StepRecord]
    n_classes: int

    def build(self) -> DeqModel:
        """A float32 model of ``run.model`` holding the loaded weights."""
        model = build_model(self.run.model, self.n_classes, seed=self.run.train.seed)
        model.load_state_dict(self.state_dict)
        return model


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def _weights_to_lists(tensor: torch.Tensor) -> Any:
    """Nested lists of a tensor; float32 values use the shortest text that round-trips float32."""
    array = tensor.detach().cpu().numpy()
    if array.dtype == np.float32:
        # numpy's str() of float32 is the shortest repr that parses back to the same float32.
        array = array.astype(str).astype(np.float64)
    return array.tolist()


def run_to_json(run: RunConfig, model: DeqModel, history: list[StepRecord]) -> str:
    """The run as JSON text (module docstring); RunFileError if a weight is not finite."""
    weights = {}
    for name, tensor in model.state_dict().items():
        if not torch.isfinite(tensor).all():
            raise RunFileError(f"The weight {name} is not finite, so the run cannot be saved.")
        weights[name] = _weights_to_lists(tensor)
    document = {
        "format": FORMAT,
        "version": VERSION,
        "config": run.to_dict(),
        "n_classes": int(model.n_classes),
        "weights": weights,
        "history": [dict(record._asdict()) for record in history],
    }
    try:
        return json.dumps(document, allow_nan=False, separators=(",", ":"))
    except ValueError:
        raise RunFileError(
            "The training history holds a non-finite number, so the run cannot be saved."
        ) from None


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def _reject_constant(name: str) -> None:
    raise RunFileError(f"The run file contains {name}, which is not a finite number.")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise RunFileError(f"The run file repeats the key '{clip_text(key)}'.")
        out[key] = value
    return out


def _text(data: str | bytes | bytearray | BinaryIO, max_bytes: int) -> str:
    """The file's text: size, binary and UTF-8 checks."""
    too_large = f"The run file is larger than the {max_bytes / 1e6:g} MB limit."
    if hasattr(data, "read"):  # a file object, e.g. Streamlit's UploadedFile
        data = data.read(max_bytes + 1)
    if isinstance(data, str):
        if len(data) > max_bytes or len(data.encode("utf-8", "surrogatepass")) > max_bytes:
            raise RunFileError(too_large)
        text = data
    elif isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        if len(raw) > max_bytes:
            raise RunFileError(too_large)
        if b"\x00" in raw:
            raise RunFileError("The file looks binary; a run file is JSON text.")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise RunFileError("The file is not UTF-8 text; a run file is JSON text.") from None
    else:
        raise RunFileError("The run file must be given as text or bytes.")
    if "\x00" in text:
        raise RunFileError("The file looks binary; a run file is JSON text.")
    return text.removeprefix("\ufeff")


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
    except RecursionError:
        raise RunFileError("The run file is nested too deeply to be a run file.") from None
    except json.JSONDecodeError as err:
        raise RunFileError(
            f"The file is not valid JSON (line {err.lineno}, column {err.colno})."
        ) from None
    except ValueError as err:  # e.g. an integer with too many digits
        if isinstance(err, RunFileError):
            raise
        raise RunFileError("The file is not valid JSON (it has an unreadable number).") from None


def _check_keys(where: str, obj: Any, expected: tuple[str, ...]) -> None:
    if not isinstance(obj, dict):
        raise RunFileError(f"{where} must be a JSON object.")
    missing = [key for key in expected if key not in obj]
    if missing:
        raise RunFileError(f"{where} is missing {', '.join(missing)}.")
    extra = [key for key in obj if key not in expected]
    if extra:
        names = ", ".join(clip_text(key, 20) for key in extra[:3])
        more = f" and {len(extra) - 3} more" if len(extra) > 3 else ""
        raise RunFileError(f"{where} has unexpected keys: {names}{more}.")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_config(config: Any) -> RunConfig:
    _check_keys("The run file's config", config, tuple(_SECTIONS))
    for name, cls in _SECTIONS.items():
        names = tuple(f.name for f in fields(cls))
        _check_keys(f"The config's {name} section", config[name], names)
    try:
        return RunConfig.from_dict(config)
    except (ConfigError, DatasetError, TypeError, ValueError) as err:
        reason = clip_text(err, 120).rstrip(".")
        raise RunFileError(f"The run file's config is invalid ({reason}).") from None


def _flatten(value: Any, shape: tuple[int, ...], name: str, out: list[float]) -> None:
    """Append the numbers of nested lists ``value`` of ``shape`` to ``out``; RunFileError if not."""
    if not shape:
        if isinstance(value, list):
            raise RunFileError(f"The weight {name} has more levels of nesting than its shape.")
        if isinstance(value, bool) or not isinstance(value, int | float):
            kind = _JSON_KINDS.get(type(value), "something else")
            raise RunFileError(f"The weight {name} contains {kind} where a number belongs.")
        if isinstance(value, int) and abs(value) > MAX_ABS_WEIGHT:
            raise RunFileError(f"The weight {name} has a value above {MAX_ABS_WEIGHT:g} in size.")
        out.append(float(value))
        return
    if not isinstance(value, list) or len(value) != shape[0]:
        if isinstance(value, list):
            got = f"{len(value)} {'entry' if len(value) == 1 else 'entries'}"
        else:
            got = "a single value"
        raise RunFileError(
            f"The weight {name} should have shape {list(shape)} but a list in it has {got} "
            f"instead of {shape[0]}."
        )
    for item in value:
        _flatten(item, shape[1:], name, out)


def _parse_weights(weights: Any, model: DeqModel) -> dict[str, torch.Tensor]:
    expected = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    if not isinstance(weights, dict):
        raise RunFileError("The run file's weights must be a JSON object of named arrays.")
    unknown = [name for name in weights if name not in expected]
    if unknown:
        raise RunFileError(
            f"The run file has weights this model does not use: {clip_text(', '.join(unknown))}."
        )
    missing = [name for name in expected if name not in weights]
    if missing:
        raise RunFileError(f"The run file lacks the weights {', '.join(missing)}.")
    state = {}
    for name, shape in expected.items():
        flat: list[float] = []
        _flatten(weights[name], shape, name, flat)
        array = np.array(flat, dtype=np.float64).reshape(shape)
        if not np.isfinite(array).all():
            raise RunFileError(f"The weight {name} contains a value that is NaN or infinite.")
        if (np.abs(array) > MAX_ABS_WEIGHT).any():
            raise RunFileError(f"The weight {name} has a value above {MAX_ABS_WEIGHT:g} in size.")
        state[name] = torch.from_numpy(array.astype(np.float32))
    return state


def _parse_record(index: int, record: Any, regression: bool) -> StepRecord:
    """One history record, checked; ``regression``: its "acc" values are R², at most 1 but
    unbounded below (a fresh model often predicts worse than the mean)."""
    where = f"History record {index + 1}"
    _check_keys(where, record, StepRecord._fields)
    for key in _RECORD_INTS:
        value = record[key]
        if not _is_int(value) or not 0 <= value <= 10**9:
            raise RunFileError(f"{where}: {key} must be a non-negative whole number.")
    for key in _RECORD_FLOATS:
        value = record[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RunFileError(f"{where}: {key} must be a number.")
        if regression and key.endswith("_acc"):
            if not math.isfinite(value) or not -1e12 <= value <= 1:
                raise RunFileError(f"{where}: {key} (R²) must be a finite number of at most 1.")
            continue
        if not math.isfinite(value) or value < 0 or value > 1e12:
            raise RunFileError(f"{where}: {key} must be a finite, non-negative number.")
        if key.endswith("_acc") and value > 1:
            raise RunFileError(f"{where}: {key} must lie between 0 and 1.")
    return StepRecord(**{key: record[key] for key in StepRecord._fields})


def _parse_history(history: Any, regression: bool) -> list[StepRecord]:
    if not isinstance(history, list):
        raise RunFileError("The run file's history must be a JSON list of records.")
    if len(history) > MAX_HISTORY:
        raise RunFileError(
            f"The run file's history has {len(history)} records; at most {MAX_HISTORY} are allowed."
        )
    records = [_parse_record(i, record, regression) for i, record in enumerate(history)]
    for before, after in zip(records, records[1:], strict=False):
        if after.step <= before.step:
            raise RunFileError(f"The history's step numbers must increase (step {after.step}).")
    if records and records[0].step < 1:
        raise RunFileError("The history's step numbers must start at 1 or later.")
    return records


def run_from_json(data: str | bytes | BinaryIO, *, max_bytes: int = 5_000_000) -> LoadedRun:
    """Load and validate a run file written by :func:`run_to_json`.

    ``data`` is the file's text or bytes, or a binary file object (e.g. Streamlit's UploadedFile;
    at most ``max_bytes + 1`` bytes are read from it).

    Raises:
        RunFileError: for anything but a well-formed, in-range run file of this format version.
    """
    document = _parse_json(_text(data, max_bytes))
    if not isinstance(document, dict):
        raise RunFileError("The run file must be a JSON object.")
    if document.get("format") != FORMAT:
        raise RunFileError(f"This is not a deqnet run file (format is not '{FORMAT}').")
    version = document.get("version")
    if not _is_int(version) or version != VERSION:
        raise RunFileError(
            f"The run file has version {clip_text(json.dumps(version), 12)}; "
            f"deqnet reads version {VERSION}."
        )
    _check_keys("The run file", document, _TOP_KEYS)
    run = _parse_config(document["config"])
    n_classes = document["n_classes"]
    if not _is_int(n_classes) or not 1 <= n_classes <= MAX_CLASSES:
        raise RunFileError(
            f"The run file's n_classes must be a whole number, 1 (regression) to {MAX_CLASSES}."
        )
    model = build_model(run.model, n_classes)
    state = _parse_weights(document["weights"], model)
    history = _parse_history(document["history"], regression=n_classes == 1)
    return LoadedRun(run=run, state_dict=state, history=history, n_classes=n_classes)


def _outputs(n_classes: int) -> str:
    """What a readout of ``n_classes`` outputs predicts, in words."""
    return "a regression target" if n_classes == 1 else f"{n_classes} classes"


def check_loaded_run_behaves(loaded: LoadedRun, data: Dataset, n_points: int = 64) -> str | None:
    """None if the loaded weights give finite outputs on the data, else a markdown-safe sentence.

    Runs one forward pass on up to ``n_points`` points of ``data`` (train then test) and the corners
    of a box around the data (where the figures evaluate the model too). Reports a
    class-count mismatch, a solver failure, or non-finite outputs (weights that make the flow
    diverge). Never raises.
    """
    try:
        if data.n_classes != loaded.n_classes:
            return safe_text(
                f"The run was trained for {_outputs(loaded.n_classes)} but the data has "
                f"{_outputs(data.n_classes)}; regenerate the matching data first.",
                None,
            )
        model = loaded.build()
        points = data.x_all.astype(np.float64)
        # The corners of a box around the data with a margin: figures evaluate the model there too.
        low, high = points.min(axis=0), points.max(axis=0)
        margin = 0.25 * (high - low) + 0.5
        corners = np.array(
            [
                [a, b]
                for a in (low[0] - margin[0], high[0] + margin[0])
                for b in (low[1] - margin[1], high[1] + margin[1])
            ]
        )
        x = torch.as_tensor(np.concatenate([points[:n_points], corners]), dtype=model.dtype)
        with torch.no_grad():
            logits = model(x)
        if not torch.isfinite(logits).all():
            return safe_text(
                "The loaded weights make the model's output infinite or NaN (the flow diverges); "
                "they cannot be used as they are.",
                None,
            )
    except SolverFailure:
        return safe_text(
            "The loaded weights make the ODE solver fail (the flow is too stiff or diverges); "
            "they cannot be used as they are.",
            None,
        )
    except Exception as err:  # never raise into the page; say what went wrong instead
        return safe_text(f"The loaded run could not be evaluated ({clip_text(err, 80)}).", None)
    return None
