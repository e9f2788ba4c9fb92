"""The URL codec: a whole RunConfig (plus a few view flags) <-> short, readable query parameters.

A shared link is untrusted input. :func:`run_from_query` never raises: every value is parsed,
clamped to ``LIMITS`` (and the dataset limits), conflicts between fields are repaired, and each
change is reported in a short, markdown-safe notice for ``st.warning``. :func:`run_to_query` writes
only the values that differ from the defaults, so links stay short.

URL keys (they double as the app's widget keys):

======== ======= ============== ==================================================
key      section field          values
======== ======= ============== ==================================================
dataset  data    name           moons, circles, concentric, spiral, xor, gaussians
n        data    n              integer 8..10000 (and at least 2 * classes)
noise    data    noise          0..1
test     data    test_fraction  0.05..0.9
dseed    data    seed           integer 0..2**31-1 (links cap the data seed here)
classes  data    n_classes      integer, 2 (spiral, gaussians: 2..5)
family   model   family         node, ruseckas, resnet, feedforward
augment  model   augment        integer 0..3
T        model   T              0.05..10
width    model   width          integer 1..64
act      model   activation     tanh, relu, softplus, sigmoid
mode     model   time_mode      autonomous, time, piecewise (per family)
K        model   segments       integer 1..200 (at most layers for discrete piecewise)
gamma    model   gamma          0..10
g        model   nonlinearity   cubic, sine
solver   model   solver         euler, midpoint, rk4, dopri5
steps    model   steps          integer 1..1000
rtol     model   rtol           1e-10..0.1
atol     model   atol           1e-10..0.1
maxsteps model   max_steps      integer 10..20000
layers   model   layers         integer 1..200
opt      train   optimizer      adam, sgd
lr       train   lr             1e-6..10
batch    train   batch_size     integer 0..10000 (0 = full batch)
wd       train   weight_decay   0..1
loss     train   loss           cross_entropy, mse
grad     train   grad_mode      backprop, adjoint
clip     train   grad_clip      0..1e6
mom      train   momentum       0..0.999
seed     train   seed           integer 0..2**31-1
budget   train   train_steps    integer 1..5000
======== ======= ============== ==================================================

Format version: every link carries ``v`` (:data:`LINK_VERSION`); a link without it is version
1. A link lists only values that differ from the defaults *of its version*, so each version's
defaults are kept in :data:`LINK_DEFAULTS` and a link of an older version is read with the keys
it leaves out set to that version's defaults (where they differ from today's): a change of a
default never changes what an old link shows.

Drawn points (``pts``, not part of the config): the codec of ``deqnet.sharing.points``; text that
it refuses is dropped with a notice (the data set of the settings is used).

View flags (not part of the config): ``showtest`` (bool), ``discrete`` (bool, discretize the
output), ``classroom`` (bool), ``present`` (bool, presentation mode), ``hide`` (comma-separated
keys above and ``regen``, ``upload``, ``export``), ``preset`` (a name from the caller's set).

Parsing rules: keys are matched case-insensitively; when a key is given several times (pass
``{k: st.query_params.get_all(k)}`` to detect it) the last value wins and a notice says so. Numbers
are plain decimals (``12``, ``-0.5``, ``3e-4``; no ``nan``/``inf``/hex/underscores); values out of
range, including overflowing ones such as ``1e999``, are clamped to the nearest bound. Integer
fields accept whole numbers written as ``12``, ``12.0`` or ``1.2e1``; other numbers are rounded to
the nearest integer (halves up) with a notice. Choices are case-insensitive and accept ``-`` or a
space for ``_``. Booleans accept true/false, 1/0, yes/no, on/off; a bare flag (``?classroom=``) is
true. Anything unreadable keeps the base value with a notice. Unknown keys are ignored with one
notice. At most ``MAX_NOTICES`` notices are returned, then one "… and k more".
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from deqnet.config import (
    ACTIVATIONS,
    FAMILIES,
    GRAD_MODES,
    LIMITS,
    LOSSES,
    NONLINEARITIES,
    OPTIMIZERS,
    SOLVERS,
    TIME_MODE_NAMES,
    DataConfig,
    ModelConfig,
    RunConfig,
    TrainConfig,
    repair_run,
)
from deqnet.datasets import (
    DATASETS,
    MAX_CLASSES,
    N_MAX,
    N_MIN,
    NOISE_MAX,
    NOISE_MIN,
    TEST_FRACTION_MAX,
    TEST_FRACTION_MIN,
)
from deqnet.sharing.points import DrawnPoints, PointsError, decode_points, encode_points
from deqnet.sharing.text import (
    USER_TEXT_LIMIT,
    Notices,
    clip_text,
    listing,
    quote,
    safe_text,
    show_value,
)

__all__ = [
    "FIELD_SPECS",
    "HIDEABLE",
    "MAX_NOTICES",
    "QUERY_FIELDS",
    "VIEW_FIELDS",
    "LINK_DEFAULTS",
    "LINK_VERSION",
    "FieldSpec",
    "QueryResult",
    "ViewField",
    "default_view",
    "run_from_query",
    "run_to_query",
]

MAX_NOTICES = 10
_MAX_NUMBER_CHARS = 64
_MAX_TEXT_CHARS = 512
_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_TRUE = {"", "1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f"}


@dataclass(frozen=True)
class FieldSpec:
    """How one URL key maps to a config field and what it accepts.

    Attributes:
        section: "data", "model" or "train".
        field: the dataclass field name.
        kind: "choice", "int" or "float".
        low, high: inclusive bounds for numbers (None for choices).
        choices: allowed values for choices (empty for numbers).
    """

    section: str
    field: str
    kind: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()


def _num(section: str, name: str, kind: str, limit: str | None = None, bounds=None) -> FieldSpec:
    low, high = LIMITS[limit or name] if bounds is None else bounds
    return FieldSpec(section, name, kind, low, high)


def _choice(section: str, name: str, choices: tuple[str, ...]) -> FieldSpec:
    return FieldSpec(section, name, "choice", choices=choices)


FIELD_SPECS: dict[str, FieldSpec] = {
    "dataset": _choice("data", "name", DATASETS),
    "n": _num("data", "n", "int", bounds=(N_MIN, N_MAX)),
    "noise": _num("data", "noise", "float", bounds=(NOISE_MIN, NOISE_MAX)),
    "test": _num("data", "test_fraction", "float", bounds=(TEST_FRACTION_MIN, TEST_FRACTION_MAX)),
    "dseed": _num("data", "seed", "int", limit="seed"),
    "classes": _num("data", "n_classes", "int", bounds=(2, MAX_CLASSES)),
    "family": _choice("model", "family", FAMILIES),
    "augment": _num("model", "augment", "int"),
    "T": _num("model", "T", "float"),
    "width": _num("model", "width", "int"),
    "act": _choice("model", "activation", ACTIVATIONS),
    "mode": _choice("model", "time_mode", TIME_MODE_NAMES),
    "K": _num("model", "segments", "int"),
    "gamma": _num("model", "gamma", "float"),
    "g": _choice("model", "nonlinearity", NONLINEARITIES),
    "solver": _choice("model", "solver", SOLVERS),
    "steps": _num("model", "steps", "int"),
    "rtol": _num("model", "rtol", "float"),
    "atol": _num("model", "atol", "float"),
    "maxsteps": _num("model", "max_steps", "int"),
    "layers": _num("model", "layers", "int"),
    "opt": _choice("train", "optimizer", OPTIMIZERS),
    "lr": _num("train", "lr", "float"),
    "batch": _num("train", "batch_size", "int"),
    "wd": _num("train", "weight_decay", "float"),
    "loss": _choice("train", "loss", LOSSES),
    "grad": _choice("train", "grad_mode", GRAD_MODES),
    "clip": _num("train", "grad_clip", "float"),
    "mom": _num("train", "momentum", "float"),
    "seed": _num("train", "seed", "int"),
    "budget": _num("train", "train_steps", "int"),
}

# The defaults each link format version was written against, as URL text, one row per version,
# every key of FIELD_SPECS in every row (tests/test_link_versions.py checks it, and that the
# newest row is RunConfig()'s defaults). A row is frozen once links of its version exist:
# - a new field whose default is what older links did (a ``task`` that defaults to
#   classification): one line in every row, "task": "classification";
# - a changed default (or a new field whose default older links did not do): a new row, the
#   previous one with that value changed (``_V2 = {**_V1, "noise": "0.2"}``), and the
#   version's number in LINK_DEFAULTS.
_V1: dict[str, str] = {
    "dataset": "moons",
    "n": "512",
    "noise": "0.1",
    "test": "0.3",
    "dseed": "0",
    "classes": "2",
    "family": "node",
    "augment": "0",
    "T": "1.0",
    "width": "16",
    "act": "tanh",
    "mode": "autonomous",
    "K": "4",
    "gamma": "0.1",
    "g": "cubic",
    "solver": "rk4",
    "steps": "10",
    "rtol": "0.001",
    "atol": "0.0001",
    "maxsteps": "1000",
    "layers": "10",
    "opt": "adam",
    "lr": "0.02",
    "batch": "0",
    "wd": "0.0",
    "loss": "cross_entropy",
    "grad": "backprop",
    "clip": "5.0",
    "mom": "0.9",
    "seed": "0",
    "budget": "300",
}
LINK_DEFAULTS: dict[int, dict[str, str]] = {1: _V1}
LINK_VERSION = max(LINK_DEFAULTS)
_VERSION_KEY = "v"
_POINTS_KEY = "pts"

QUERY_FIELDS: dict[str, tuple[str, str]] = {
    key: (spec.section, spec.field) for key, spec in FIELD_SPECS.items()
}
_KEY_OF: dict[tuple[str, str], str] = {where: key for key, where in QUERY_FIELDS.items()}

# Configs are frozen, so one shared default instance is safe as an argument default.
DEFAULT_RUN = RunConfig()

_SECTIONS: dict[str, type] = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}


@dataclass(frozen=True)
class ViewField:
    """A URL flag that is not part of the config: ``kind`` is "bool", "list" or "name"."""

    kind: str
    default: Any
    help: str


HIDEABLE: tuple[str, ...] = (*QUERY_FIELDS, "regen", "upload", "export")

VIEW_FIELDS: dict[str, ViewField] = {
    "showtest": ViewField("bool", False, "show the test points"),
    "discrete": ViewField("bool", False, "discretize the output (class colours, no shading)"),
    "classroom": ViewField("bool", False, "classroom mode: hide the controls listed in hide"),
    "present": ViewField(
        "bool", False, "presentation mode: sidebar collapsed, charts fit a projector, larger text"
    ),
    "hide": ViewField("list", (), "controls to hide: keys of QUERY_FIELDS, regen, upload, export"),
    "preset": ViewField("name", None, "a preset name from the caller's set"),
}

_KEY_ALIASES: dict[str, str] = {
    key.lower(): key for key in (*QUERY_FIELDS, *VIEW_FIELDS, _VERSION_KEY, _POINTS_KEY)
}
_HIDE_ALIASES: dict[str, str] = {name.lower(): name for name in HIDEABLE}


@dataclass(frozen=True)
class QueryResult:
    """What a link decoded to.

    Attributes:
        run: a valid RunConfig.
        view: the view flags, all keys of ``VIEW_FIELDS`` (bools, a tuple of names, a name or None).
        notices: markdown-safe sentences for ``st.warning`` (at most MAX_NOTICES + 1).
        points: the drawn points the link carries (``pts``), or None.
    """

    run: RunConfig
    view: dict[str, Any]
    notices: list[str] = field(default_factory=list)
    points: DrawnPoints | None = None


def default_view() -> dict[str, Any]:
    """The view flags of a link that sets none of them."""
    return {key: spec.default for key, spec in VIEW_FIELDS.items()}


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------


def _last_text(key: str, raw: object, notices: Notices) -> str | None:
    """The value to use for ``key``: the last of repeated values; None if it is not text."""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, Sequence) and not isinstance(raw, bytes | bytearray):
        if len(raw) == 0:
            return ""
        if len(raw) > 1:
            notices.add(f"The link sets {key} {len(raw)} times; the last value was used.")
        last = raw[-1]
        return last if isinstance(last, str) else None
    return None


def _parse_number(key: str, text: str, spec: FieldSpec, base: Any, notices: Notices) -> Any:
    """Number field: parse, round integers, clamp to [low, high]; base value if unreadable."""
    value = text.strip()
    if len(value) > _MAX_NUMBER_CHARS or not _NUMBER_RE.fullmatch(value):
        notices.add(f"{key}: {quote(text)} is not a number; kept {show_value(base)}.")
        return base
    number = float(value)  # overflow gives +-inf, which the clamp below handles
    low, high = float(spec.low), float(spec.high)  # type: ignore[arg-type]
    if spec.kind == "int" and math.isfinite(number) and not number.is_integer():
        rounded = math.floor(number + 0.5)
        notices.add(f"{key}: {quote(value)} is not a whole number; rounded to {rounded}.")
        number = float(rounded)
    if number < low or number > high:
        bound = low if number < low else high
        side = "minimum" if number < low else "maximum"
        shown = show_value(int(bound) if spec.kind == "int" else bound)
        notices.add(f"{key}: {quote(value)} is out of range; using the {side} {shown}.")
        number = bound
    return int(number) if spec.kind == "int" else number


def _normalise_choice(text: str) -> str:
    return re.sub(r"[\s-]+", "_", text.strip().lower())


def _parse_choice(key: str, text: str, spec: FieldSpec, base: Any, notices: Notices) -> Any:
    wanted = _normalise_choice(text[:_MAX_TEXT_CHARS])
    for choice in spec.choices:
        if wanted == choice:
            return choice
    allowed = listing(spec.choices, 120)
    notices.add(f"{key}: {quote(text)} is not one of {allowed}; kept {base}.")
    return base


def _parse_bool(key: str, text: str, default: bool, notices: Notices) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    notices.add(f"{key}: {quote(text)} is not true or false; using {str(default).lower()}.")
    return default


def _parse_hide(text: str, notices: Notices) -> tuple[str, ...]:
    """Comma-separated control names -> tuple in HIDEABLE order; unknown names are dropped."""
    if len(text) > _MAX_TEXT_CHARS:
        notices.add(f"hide: the list is too long ({len(text)} characters); nothing hidden.")
        return ()
    wanted = {part.strip().lower() for part in text.split(",")} - {""}
    unknown = sorted(wanted - set(_HIDE_ALIASES))
    if unknown:
        notices.add(
            f"hide: ignored unknown controls {quote(', '.join(unknown))}; "
            f"allowed are {listing(HIDEABLE, 80)}."
        )
    return tuple(name for name in HIDEABLE if name.lower() in wanted)


def _parse_preset(text: str, presets: Collection[str], notices: Notices) -> str | None:
    wanted = text.strip().lower()
    for name in presets:
        if isinstance(name, str) and name.lower() == wanted:
            return name
    names = sorted(name for name in presets if isinstance(name, str))
    allowed = f"choose one of {listing(names, 80)}" if names else "no presets are available"
    notices.add(f"preset: {quote(text)} is unknown; {allowed}.")
    return None


def _parse_version(text: str | None, notices: Notices) -> int:
    """The link's format version: 1 when it has none (links made before versions existed)."""
    if text is None:
        return 1
    value = text.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 6 or int(value) < 1:
        notices.add(f"v: {quote(text)} is not a link version; read as version 1.")
        return 1
    if int(value) > LINK_VERSION:
        notices.add(
            f"v: the link comes from a newer deqnet (version {int(value)}); read as version "
            f"{LINK_VERSION}, so settings this one does not know are left out."
        )
        return LINK_VERSION
    return int(value)


def _parse_points(text: str | None, notices: Notices) -> DrawnPoints | None:
    if text is None:
        return None
    try:
        return decode_points(text)
    except PointsError as err:
        notices.add(f"pts: {err} The data set of the settings is used instead.")
        return None


def _migrate(texts: dict[str, str], version: int) -> None:
    """What an older link left out meant: its version's defaults, where today's differ."""
    old, new = LINK_DEFAULTS[version], LINK_DEFAULTS[LINK_VERSION]
    for key, value in old.items():
        if key not in texts and value != new[key]:
            texts[key] = value


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def _collect(query: Mapping, notices: Notices) -> dict[str, object]:
    """Canonical key -> raw value; repeated (case-variant) keys keep the last; unknown noted."""
    found: dict[str, object] = {}
    counts: dict[str, int] = {}
    unknown: list[str] = []
    n_unknown = 0
    for key, raw in query.items():
        canonical = _KEY_ALIASES.get(key.strip().lower()) if isinstance(key, str) else None
        if canonical is None:
            n_unknown += 1
            if len(unknown) < 8:
                unknown.append(clip_text(key, 20))
            continue
        found[canonical] = raw
        counts[canonical] = counts.get(canonical, 0) + 1
    for key, count in counts.items():
        if count > 1:
            notices.add(f"The link sets {key} {count} times; the last value was used.")
    if n_unknown:
        names = listing(unknown, USER_TEXT_LIMIT, total=n_unknown)
        notices.add(f"Ignored {n_unknown} unknown link setting(s): {names}.")
    return found


def _decode(
    query: Mapping, base: RunConfig, presets: Collection[str] | Mapping[str, RunConfig]
) -> tuple[RunConfig, dict[str, Any], Notices, DrawnPoints | None]:
    notices = Notices(MAX_NOTICES)
    if not isinstance(query, Mapping):
        notices.add("The link settings could not be read; the defaults are used.")
        return base, default_view(), notices, None
    found = _collect(query, notices)

    view = default_view()
    texts: dict[str, str] = {}
    for key, raw in found.items():
        text = _last_text(key, raw, notices)
        if text is None:
            notices.add(f"{key}: the value is not text; ignored.")
            continue
        texts[key] = text
    _migrate(texts, _parse_version(texts.pop(_VERSION_KEY, None), notices))
    points = _parse_points(texts.pop(_POINTS_KEY, None), notices)
    for key, spec in VIEW_FIELDS.items():
        if key not in texts:
            continue
        if spec.kind == "bool":
            view[key] = _parse_bool(key, texts[key], spec.default, notices)
        elif spec.kind == "list":
            view[key] = _parse_hide(texts[key], notices)
        else:
            view[key] = _parse_preset(texts[key], presets, notices)
    if view["preset"] is not None and isinstance(presets, Mapping):
        preset_run = presets.get(view["preset"])
        if isinstance(preset_run, RunConfig):
            base = preset_run

    sections = {
        name: {f.name: getattr(getattr(base, name), f.name) for f in fields(cls)}
        for name, cls in _SECTIONS.items()
    }
    for key, spec in FIELD_SPECS.items():
        if key not in texts:
            continue
        text = texts[key]
        current = sections[spec.section][spec.field]
        if not text.strip():
            notices.add(f"{key}: the value is empty; kept {show_value(current)}.")
        elif spec.kind == "choice":
            sections[spec.section][spec.field] = _parse_choice(key, text, spec, current, notices)
        else:
            sections[spec.section][spec.field] = _parse_number(key, text, spec, current, notices)

    parts, repairs = repair_run(sections, base=base)
    for repair in repairs:
        notices.add(f"{_KEY_OF[repair.section, repair.field]}: {repair.reason}")
    built = {}
    for name, cls in _SECTIONS.items():
        try:
            built[name] = cls(**parts[name])
        except ValueError as err:  # a repair this module does not know yet: keep the base
            reason = clip_text(err, USER_TEXT_LIMIT)
            notices.add(f"The link's {name} settings conflict ({reason}); the old ones are kept.")
            built[name] = getattr(base, name)
    return RunConfig(**built), view, notices, points


def run_from_query(
    query: Mapping[str, str | Sequence[str]],
    *,
    base: RunConfig = DEFAULT_RUN,
    presets: Collection[str] | Mapping[str, RunConfig] = (),
) -> QueryResult:
    """Decode a link's query parameters into a valid RunConfig, the view flags and notices.

    Args:
        query: key -> value, or key -> list of values (the last one is used). Pass
            ``{k: st.query_params.get_all(k) for k in st.query_params}`` to detect repeats.
        base: values for keys the link does not set (and fallback for unreadable ones).
        presets: allowed preset names; if a mapping name -> RunConfig, the chosen preset's run
            replaces ``base`` (the link's own values still override it).

    Never raises; see the module docstring for the rules.
    """
    try:
        run, view, notices, points = _decode(query, base, presets)
        return QueryResult(run, view, notices.done(), points)
    except Exception:  # a security boundary: whatever slipped through, fall back to the base
        message = safe_text("The link settings could not be read; the defaults are used.", None)
        return QueryResult(base, default_view(), [message])


def _format(value: Any, spec: FieldSpec) -> str:
    if spec.kind == "float":
        return repr(float(value))  # shortest text with float(text) == value
    return str(value)


def run_to_query(
    run: RunConfig,
    view: Mapping[str, Any] | None = None,
    *,
    base: RunConfig = DEFAULT_RUN,
    points: DrawnPoints | None = None,
) -> dict[str, str]:
    """Query parameters for ``run`` and ``view``: the format version ``v`` first (on every link,
    also one of defaults only), then the values that differ from ``base`` / the view defaults,
    in ``QUERY_FIELDS`` then ``VIEW_FIELDS`` order, and last the drawn ``points`` (at most
    ``MAX_LINK_POINTS``: raises PointsError for more; check ``len(points)`` first).

    ``run_from_query(run_to_query(run, view, base=b), base=b)`` gives back ``run`` and ``view``
    (the data seed must be within ``LIMITS["seed"]``, as every link-made config is).
    """
    out: dict[str, str] = {_VERSION_KEY: str(LINK_VERSION)}
    for key, spec in FIELD_SPECS.items():
        if spec.field == "n_classes" and run.data.task == "regression":
            continue  # implied by the data set: one output
        value = getattr(getattr(run, spec.section), spec.field)
        if value != getattr(getattr(base, spec.section), spec.field):
            out[key] = _format(value, spec)
    for key, spec in VIEW_FIELDS.items():
        value = (view or {}).get(key, spec.default)
        if spec.kind == "bool":
            if bool(value) != spec.default:
                out[key] = "1" if value else "0"
        elif spec.kind == "list":
            names = [name for name in HIDEABLE if name in set(value or ())]
            if names:
                out[key] = ",".join(names)
        elif value is not None:
            out[key] = str(value)
    if points is not None:
        out[_POINTS_KEY] = encode_points(points)
    return out
