"""The URL codec and markdown-safe text: exact rules, round trips, and a hostile-link campaign."""

from __future__ import annotations

import dataclasses
import math
import random
import re
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deqnet.config import (
    DISCRETE_FAMILIES,
    FAMILIES,
    LIMITS,
    TIME_MODES,
    DataConfig,
    ModelConfig,
    RunConfig,
    TrainConfig,
)
from deqnet.datasets import DATASETS, MAX_CLASSES, N_MAX, N_MIN, n_classes_range
from deqnet.sharing import (
    FIELD_SPECS,
    HIDEABLE,
    MAX_NOTICES,
    QUERY_FIELDS,
    VIEW_FIELDS,
    default_view,
    run_from_query,
    run_to_query,
    safe_text,
)
from deqnet.sharing.text import ZERO_WIDTH_SPACE

PRESETS = ("rings", "Spiral-3", "flow demo")


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def assert_valid(run: RunConfig) -> None:
    """``run`` re-validates from scratch and every value lies within its URL bounds."""
    assert isinstance(run, RunConfig)
    # Re-running every constructor re-validates each field and the cross-field rules.
    assert (
        RunConfig(
            DataConfig(**vars(run.data)),
            ModelConfig(**vars(run.model)),
            TrainConfig(**vars(run.train)),
        )
        == run
    )
    for key, spec in FIELD_SPECS.items():
        value = getattr(getattr(run, spec.section), spec.field)
        if spec.field == "n_classes" and run.data.task == "regression":
            assert value == 1  # one output, whatever the link's classes said
            continue
        if spec.kind == "choice":
            assert value in spec.choices, key
        else:
            assert isinstance(value, int if spec.kind == "int" else float), key
            assert not isinstance(value, bool)
            assert math.isfinite(value) and spec.low <= value <= spec.high, (key, value)
    for name, (low, high) in LIMITS.items():
        section = run.model if hasattr(run.model, name) else run.train
        assert low <= getattr(section, name) <= high, name
    lo, hi = n_classes_range(run.data.name)
    assert lo <= run.data.n_classes <= hi
    assert max(N_MIN, 2 * run.data.n_classes) <= run.data.n <= N_MAX


def assert_safe_notice(notice: str) -> None:
    assert isinstance(notice, str) and notice
    assert "<" not in notice and ">" not in notice
    assert "<script" not in notice.lower()
    assert not any(
        unicodedata.category(ch) in ("Cc", "Cf", "Cs") and ch != ZERO_WIDTH_SPACE for ch in notice
    )
    # Every markdown special is backslash-escaped, so no link, image, code or maths can form.
    unescaped = re.sub(r"\\.|&(lt|gt|amp|quot|#x27);", "", notice)
    assert not set(unescaped) & set("[]()`*_$|~#!:")
    # What Streamlit and GFM look for in the decoded text: icons, emoji, literal autolinks.
    decoded = _decode_markdown(notice)
    assert not re.search(r":[\w/+-]|www\.|https?://|@\w", decoded, flags=re.IGNORECASE)


def _decode_markdown(text: str) -> str:
    """What markdown shows for escaped text: backslash escapes and entities resolved."""
    text = re.sub(r"\\(.)", r"\1", text)
    for entity, ch in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&#x27;", "'")):
        text = text.replace(entity, ch)
    return text.replace("&amp;", "&")


def assert_valid_view(view: dict, presets=()) -> None:
    assert set(view) == set(VIEW_FIELDS)
    for key in ("showtest", "discrete", "classroom", "present"):
        assert isinstance(view[key], bool)
    assert isinstance(view["hide"], tuple) and set(view["hide"]) <= set(HIDEABLE)
    assert view["preset"] is None or view["preset"] in presets


# --------------------------------------------------------------------------------------------
# The key table
# --------------------------------------------------------------------------------------------


def test_every_config_field_has_exactly_one_url_key():
    for section, cls in (("data", DataConfig), ("model", ModelConfig), ("train", TrainConfig)):
        expected = {(section, f.name) for f in dataclasses.fields(cls)}
        got = {v for v in QUERY_FIELDS.values() if v[0] == section}
        assert got == expected
    assert len(set(QUERY_FIELDS.values())) == len(QUERY_FIELDS)
    keys = [*QUERY_FIELDS, *VIEW_FIELDS]
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", k) for k in keys)
    assert len({k.lower() for k in keys}) == len(keys)  # case-insensitive matching is unambiguous


def test_bounds_come_from_limits():
    for key, spec in FIELD_SPECS.items():
        if spec.section in ("model", "train") and spec.kind != "choice":
            assert (spec.low, spec.high) == LIMITS[spec.field], key
    assert (FIELD_SPECS["dseed"].low, FIELD_SPECS["dseed"].high) == LIMITS["seed"]
    assert (FIELD_SPECS["classes"].low, FIELD_SPECS["classes"].high) == (2, MAX_CLASSES)
    assert FIELD_SPECS["dataset"].choices == DATASETS
    assert FIELD_SPECS["family"].choices == FAMILIES


# --------------------------------------------------------------------------------------------
# Parsing rules
# --------------------------------------------------------------------------------------------


def test_empty_query_gives_base_and_default_view():
    base = RunConfig(model=ModelConfig(family="resnet", layers=7))
    result = run_from_query({}, base=base)
    assert result.run == base and result.view == default_view() and result.notices == []


def test_plain_values_are_read_exactly():
    query = {
        "dataset": "spiral",
        "classes": "3",
        "n": "300",
        "lr": "0.003",
        "T": "2.5",
        "family": "resnet",
        "mode": "piecewise",
        "K": "5",
        "layers": "20",
        "opt": "sgd",
    }
    result = run_from_query(query)
    assert result.notices == []
    assert result.run.data == DataConfig(name="spiral", n=300, n_classes=3)
    assert result.run.model == ModelConfig(
        family="resnet", time_mode="piecewise", segments=5, layers=20, T=2.5
    )
    assert result.run.train == TrainConfig(lr=0.003, optimizer="sgd")


def test_choices_are_case_insensitive_and_forgiving():
    result = run_from_query({"dataset": " MOONS ", "loss": "Cross-Entropy", "solver": "Dopri5"})
    assert result.notices == []
    assert (result.run.data.name, result.run.train.loss, result.run.model.solver) == (
        "moons",
        "cross_entropy",
        "dopri5",
    )


def test_unknown_choice_keeps_base_and_lists_allowed():
    result = run_from_query({"act": "gelu"})
    assert result.run.model.activation == "tanh"
    (notice,) = result.notices
    assert "gelu" in notice and "softplus" in notice


@pytest.mark.parametrize(
    ("text", "expected", "noticed"),
    [("12", 12, False), ("12.0", 12, False), ("1.2e1", 12, False), ("+12", 12, False),
     ("12.5", 13, True), ("12.4999", 12, True), ("-3", 1, True), ("1e999", 64, True),
     ("-1e999", 1, True), ("abc", 16, True), ("nan", 16, True), ("inf", 16, True),
     ("0x10", 16, True), ("1_2", 16, True), ("", 16, True), ("１２", 16, True)],
)  # fmt: skip
def test_integer_parsing(text, expected, noticed):
    result = run_from_query({"width": text})
    assert result.run.model.width == expected
    assert isinstance(result.run.model.width, int)
    assert bool(result.notices) == noticed


@pytest.mark.parametrize(
    ("text", "expected"),
    [("100", 10.0), ("1e999", 10.0), ("1e-999", 1e-6), ("-5", 1e-6), ("0", 1e-6),
     ("NaN", 0.02), ("Infinity", 0.02), ("1" * 70, 0.02)],
)  # fmt: skip
def test_float_values_are_clamped_or_kept(text, expected):
    result = run_from_query({"lr": text})
    assert result.run.train.lr == expected
    assert len(result.notices) == 1


def test_data_seed_is_capped_at_the_seed_limit():
    assert run_from_query({"dseed": str(2**40)}).run.data.seed == LIMITS["seed"][1]


def test_repeated_keys_take_the_last_value_and_say_so():
    result = run_from_query({"lr": ["0.1", "0.5"], "width": ["8"]})
    assert result.run.train.lr == 0.5 and result.run.model.width == 8
    assert len(result.notices) == 1 and "lr" in result.notices[0]
    case_variants = run_from_query({"t": "2", "T": "3"})
    assert case_variants.run.model.T == 3.0 and len(case_variants.notices) == 1


def test_unknown_keys_get_one_truncated_notice():
    query = {f"junk{i}": "1" for i in range(30)} | {"x" * 500: "1"}
    result = run_from_query(query)
    assert result.run == RunConfig()
    (notice,) = result.notices
    assert "31" in notice and "more" in notice and "x" * 21 not in notice


def test_user_text_in_notices_is_at_most_40_characters():
    query = {"lr": "9" * 63 + "x", "act": "a" * 300, "b" * 300: "1", "hide": "c" * 300}
    result = run_from_query(query)
    assert len(result.notices) == 4
    for notice in result.notices:
        assert not re.search(r"(a{41}|b{41}|c{41}|9{41})", notice)


def test_notices_are_capped():
    query = dict.fromkeys(FIELD_SPECS, "zzz")
    result = run_from_query(query)
    assert len(result.notices) == MAX_NOTICES + 1
    assert result.notices[-1].startswith("… and ")
    assert f"{len(FIELD_SPECS) - MAX_NOTICES} more" in result.notices[-1]
    assert result.run == RunConfig()


def test_time_mode_not_allowed_for_family_is_repaired():
    result = run_from_query({"family": "feedforward", "mode": "time"})
    assert result.run.model.time_mode == "autonomous"
    assert len(result.notices) == 1 and "feedforward" in result.notices[0]
    # A base time mode the new family lacks is repaired too.
    base = RunConfig(model=ModelConfig(time_mode="time"))
    assert run_from_query({"family": "ruseckas"}, base=base).run.model.time_mode == "autonomous"


def test_segments_above_layers_of_a_discrete_network_are_repaired():
    result = run_from_query({"family": "resnet", "mode": "piecewise", "K": "50", "layers": "8"})
    assert (result.run.model.segments, result.run.model.layers) == (8, 8)
    assert len(result.notices) == 1
    # A continuous family keeps K (no per-layer restriction).
    assert run_from_query({"mode": "piecewise", "K": "50", "layers": "8"}).run.model.segments == 50


def test_classes_and_points_are_repaired_for_the_dataset():
    result = run_from_query({"dataset": "moons", "classes": "5"})
    assert result.run.data.n_classes == 2 and len(result.notices) == 1
    result = run_from_query({"dataset": "gaussians", "classes": "5", "n": "8"})
    assert (result.run.data.n_classes, result.run.data.n) == (5, 10)
    assert len(result.notices) == 1 and "10" in result.notices[0]


@pytest.mark.parametrize(
    ("text", "expected", "noticed"),
    [("1", True, False), ("true", True, False), ("YES", True, False), ("on", True, False),
     ("", True, False), ("0", False, False), ("False", False, False), ("no", False, False),
     ("maybe", False, True), ("<b>", False, True)],
)  # fmt: skip
def test_bool_flags(text, expected, noticed):
    result = run_from_query({"classroom": text})
    assert result.view["classroom"] is expected
    assert bool(result.notices) == noticed


def test_hide_list_is_validated():
    result = run_from_query({"hide": "LR, width,regen,,bogus,<script>,width", "classroom": "1"})
    assert result.view["hide"] == ("width", "lr", "regen")
    (notice,) = result.notices
    assert "bogus" in notice and "<" not in notice


def test_preset_is_validated_against_the_callers_names():
    assert run_from_query({"preset": "spiral-3"}, presets=PRESETS).view["preset"] == "Spiral-3"
    result = run_from_query({"preset": "nope"}, presets=PRESETS)
    assert result.view["preset"] is None and "rings" in result.notices[0]
    assert run_from_query({"preset": "rings"}).view["preset"] is None


def test_preset_mapping_supplies_the_base():
    rings = RunConfig(data=DataConfig(name="circles"), model=ModelConfig(augment=1))
    result = run_from_query({"preset": "rings", "augment": "2"}, presets={"rings": rings})
    assert result.run == RunConfig(data=DataConfig(name="circles"), model=ModelConfig(augment=2))
    written = run_to_query(result.run, result.view, base=rings)
    assert written == {"v": "1", "augment": "2", "preset": "rings"}


def test_non_mapping_and_non_text_inputs_never_raise():
    hostile = [None, 5, "lr=1", ["lr", "1"], {"lr": None}, {"lr": 0.5}, {"lr": [1, 2]},
               {"lr": b"0.5"}, {5: "x"}, {None: None}, {"lr": []}, {("a",): object()}]  # fmt: skip
    for query in hostile:
        result = run_from_query(query)  # type: ignore[arg-type]
        assert_valid(result.run)
        assert_valid_view(result.view)
        for notice in result.notices:
            assert_safe_notice(notice)


# --------------------------------------------------------------------------------------------
# Writing links
# --------------------------------------------------------------------------------------------


def test_to_query_writes_only_changes_in_a_stable_order():
    assert run_to_query(RunConfig()) == {"v": "1"}  # the format version, on every link
    run = RunConfig(
        train=TrainConfig(seed=3, lr=0.003),
        model=ModelConfig(T=0.1 + 0.2, family="ruseckas"),
        data=DataConfig(noise=0.25),
    )
    query = run_to_query(run, {"classroom": True, "hide": ("regen", "T")})
    assert list(query) == ["v", "noise", "family", "T", "lr", "seed", "classroom", "hide"]
    assert query["lr"] == "0.003" and query["T"] == repr(0.1 + 0.2) and query["hide"] == "T,regen"
    assert float(query["T"]) == 0.1 + 0.2


# --------------------------------------------------------------------------------------------
# Round trip over valid configs (hypothesis)
# --------------------------------------------------------------------------------------------


def _number(spec):
    if spec.kind == "int":
        return st.integers(int(spec.low), int(spec.high))
    floats = st.floats(spec.low, spec.high, allow_nan=False, allow_infinity=False)
    whole = st.integers(math.ceil(spec.low), math.floor(spec.high))
    return st.one_of(floats, whole) if math.floor(spec.high) >= math.ceil(spec.low) else floats


@st.composite
def valid_runs(draw) -> RunConfig:
    values: dict[str, dict] = {"data": {}, "model": {}, "train": {}}
    for spec in FIELD_SPECS.values():
        strategy = st.sampled_from(spec.choices) if spec.kind == "choice" else _number(spec)
        values[spec.section][spec.field] = draw(strategy)
    data, model = values["data"], values["model"]
    data["n_classes"] = draw(st.integers(*n_classes_range(data["name"])))
    data["n"] = draw(st.integers(max(N_MIN, 2 * data["n_classes"]), N_MAX))
    model["time_mode"] = draw(st.sampled_from(TIME_MODES[model["family"]]))
    if model["family"] in DISCRETE_FAMILIES and model["time_mode"] == "piecewise":
        model["segments"] = draw(st.integers(1, model["layers"]))
    return RunConfig.from_dict(values)


views = st.fixed_dictionaries(
    {
        "showtest": st.booleans(),
        "discrete": st.booleans(),
        "classroom": st.booleans(),
        "present": st.booleans(),
        "hide": st.lists(st.sampled_from(HIDEABLE), unique=True).map(
            lambda names: tuple(n for n in HIDEABLE if n in names)
        ),
        "preset": st.one_of(st.none(), st.sampled_from(PRESETS)),
    }
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(run=valid_runs(), base=valid_runs(), view=views)
def test_round_trip(run, base, view):
    query = run_to_query(run, view, base=base)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in query.items())
    result = run_from_query(query, base=base, presets=PRESETS)
    assert result.run == run
    assert result.view == view
    assert result.notices == []
    assert run_from_query(run_to_query(run)).run == run


# --------------------------------------------------------------------------------------------
# Safe text
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[click me](javascript:alert(1))",
        "javascript:alert(document.cookie)",
        "![x](http://evil.example/x.png)",
        "$\\frac{1}{2}$ and $$x$$",
        "abc\u202edef",
        "nul\x00here\x1b[31m",
        "**bold** _it_ `code` ~~s~~ | a | b |",
        "# heading",
        "+ item",
        "- item",
        "1. item",
        ":red[alarm] :material/home: :smile:",
        "www.example.com a@b.co https://x.y",
        "&lt;script&gt; &amp;",
        "\"quoted\" 'single'",
        "\\<script>",
        "zero\u200bwidth\ufeffbom\u2066iso\u2069",
    ],
)
def test_safe_text_neutralises(text):
    out = safe_text(text, limit=200)
    assert_safe_notice(out)
    assert "<" not in out and ">" not in out
    assert "\x00" not in out and "\u202e" not in out
    # The only zero-width spaces are the ones that break icons and links (input ones are dropped).
    assert ZERO_WIDTH_SPACE not in re.sub(r"(\\:|\\@|www)\u200b", "", out, flags=re.IGNORECASE)
    # Unescaping gives back the cleaned text: nothing is lost, only made literal.
    plain = _decode_markdown(out).replace(ZERO_WIDTH_SPACE, "")
    cleaned = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf"))
    assert plain == " ".join(cleaned.split())


def test_safe_text_truncates_and_collapses():
    assert safe_text("a" * 100) == "a" * 39 + "…"
    assert safe_text("a" * 100, limit=None) == "a" * 100
    assert safe_text("  x \n\t y\u2028z  ") == "x y z"
    assert safe_text("<" * 50, limit=5) == "&lt;" * 4 + "…"
    assert safe_text("x" * 10**6) == "x" * 39 + "…"
    assert safe_text(None) == "None" and safe_text(12) == "12"
    assert safe_text("\ud800lone surrogate") == "lone surrogate"


# --------------------------------------------------------------------------------------------
# Hostile-link campaign
# --------------------------------------------------------------------------------------------

NASTY_VALUES = [
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "\"><svg onload=alert(1)>",
    "[x](javascript:alert(1))", "javascript:alert(1)", "$x$", "$$\\int$$", "\u202e1", "\x00",
    "1\x00", "1e999", "-1e999", "1e-999", "1e308", "4.9e-324", "nan", "NaN", "-nan", "inf",
    "-inf", "Infinity", "0x10", "1_000", "", " ", "\t", "true", "false", "yes", "no", "on", "1",
    "0", "-0", "+5", "-1", "12.0", "12.5", "0.5", "2147483647", "2147483648", "-2147483649",
    "9" * 5000, "1" * 65, "a" * 100_000, "🙂", "٣", "５", "null", "None", "[]", "{}",
    "%3Cscript%3E",
    "&lt;script&gt;", "**b**", "# h", "| a |", ":red[x]", ":material/home:", "\n- item",
    "'; DROP TABLE runs; --", "MOONS", " spiral ", "Cross-Entropy", "piecewise", "time",
    "autonomous", "dopri5", "RK4", "sgd", "adjoint", "mse", "regen,upload,export", "lr,,<b>",
    "T,K,width,zzz", ",,,,", "rings", "SPIRAL-3", "1e3", ".5", "5.", "1e", "e5", "--1", "1..2",
]  # fmt: skip
NASTY_KEYS = [
    "<script>", "", " ", "__proto__", "constructor", "k" * 1000, "\x00", "lr\x00", "T ", " t",
    "LR", "Dataset", "HIDE", "🙂", "test[]", "a.b", "query", "page", "embed", "utm_source",
]  # fmt: skip


def _random_value(rng: random.Random):
    roll = rng.random()
    if roll < 0.35:
        return rng.choice(NASTY_VALUES)
    if roll < 0.55:
        magnitude = 10 ** rng.uniform(-15, 15)
        return rng.choice(["{:.6g}", "{!r}", "{:.0f}", "{:e}"]).format(
            rng.choice([-1, 1]) * magnitude
        )
    if roll < 0.65:
        return str(rng.randint(-(10**12), 10**12))
    if roll < 0.75:
        spec = rng.choice(list(FIELD_SPECS.values()))
        return rng.choice(spec.choices) if spec.choices else str(spec.high)
    if roll < 0.85:
        alphabet = "<>&\"'[]()`*_$|~#!:\\/ \x00\u202e\u200b\n\t" + "abcxyz019.-+eE" + "é漢🙂"
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
    if roll < 0.95:
        return [_random_text(rng) for _ in range(rng.randint(0, 4))]
    return rng.choice([None, 7, 0.5, b"1", object(), [1, 2], ("a", None)])


def _random_text(rng: random.Random) -> str:
    value = _random_value(rng)
    return value if isinstance(value, str) else "1"


def _random_query(rng: random.Random) -> dict:
    keys = [*QUERY_FIELDS, *VIEW_FIELDS, "v", "pts"]  # also the format version, drawn points
    query: dict = {}
    for _ in range(rng.randint(1, 14)):
        roll = rng.random()
        if roll < 0.7:
            key = rng.choice(keys)
        elif roll < 0.8:
            key = rng.choice(keys).upper()
        else:
            key = rng.choice(NASTY_KEYS)
        query[key] = _random_value(rng)
    return query


def _check_result(result, presets) -> int:
    assert_valid(result.run)
    assert_valid_view(result.view, presets)
    assert len(result.notices) <= MAX_NOTICES + 1
    for notice in result.notices:
        assert_safe_notice(notice)
    return len(result.notices)


def test_hostile_url_campaign():
    rng = random.Random(0)
    bases = [
        RunConfig(),
        RunConfig(model=ModelConfig(family="resnet", time_mode="piecewise", segments=3, layers=3)),
        RunConfig(data=DataConfig(name="spiral", n_classes=5, n=10), model=ModelConfig(T=0.05)),
    ]
    queries = [{"x": v} for v in NASTY_VALUES] + [{k: "1"} for k in NASTY_KEYS]
    queries += [{key: v} for key in FIELD_SPECS for v in NASTY_VALUES[:40]]
    queries += [_random_query(rng) for _ in range(1200)]
    n_notices = 0
    for i, query in enumerate(queries):
        presets = PRESETS if i % 2 else ()
        result = run_from_query(query, base=bases[i % len(bases)], presets=presets)
        n_notices += _check_result(result, presets)
    assert len(queries) >= 1000
    print(f"URL campaign: {len(queries)} query strings, {n_notices} notices")


query_values = st.one_of(st.text(max_size=60), st.lists(st.text(max_size=20), max_size=3))
query_keys = st.one_of(
    st.sampled_from([*QUERY_FIELDS, *VIEW_FIELDS, "v", "pts"]), st.text(max_size=12)
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(query_keys, query_values, max_size=12))
def test_fuzzed_queries_never_break(query):
    _check_result(run_from_query(query, presets=PRESETS), PRESETS)
