"""Hostile links opened on every page of the app (AppTest): no crash, a notice, nothing unescaped.

The full campaign of more than 1000 hostile query strings runs at the codec level in
tests/test_sharing_query.py (``test_hostile_url_campaign``, ``test_fuzzed_queries_never_break``):
``deqnet.sharing.run_from_query`` is the only way a link reaches the app, as
``test_every_page_passes_the_link_through_the_codec`` shows with a spy. An AppTest run costs
seconds, so here a sample of ``URLS_PER_PAGE`` queries from the same generator is opened directly
on each page. Keys that make a run expensive (points, steps, width, ...) get hostile values that
clamp low or are unreadable, so each run stays cheap; what large values cost is bounded by
``ui.guard`` (tests/test_guard.py) and their parsing is covered by the codec campaign.

For each link: no exception and no "Something went wrong", the codec was called exactly once,
a visible warning exactly when the codec reported a change, the session runs the codec's
configuration, and no user-supplied tag or script appears unescaped in any text element.
"""

from __future__ import annotations

import random
import re

import pytest
from app_harness import APP, TIMEOUT, texts  # noqa: F401
from streamlit.testing.v1 import AppTest
from test_sharing_query import NASTY_VALUES, _random_query

import ui.links
from deqnet.sharing import QUERY_FIELDS
from ui.pages import PAGES

URLS_PER_PAGE = 40
PAGE_FILES = [page.path for page in PAGES.values()]
FRIENDLY_ERROR = "Something went wrong"
LINK_WARNING = "Some settings in the link were changed"

# Values that clamp to the low bound or are unreadable (then the default is kept).
CHEAP_LOW = ["-1e999", "-5", "0", "-0", "nan", "", "abc", "<script>alert(1)</script>", "１"]
CHEAP_HIGH = ["1e999", "5", "inf", "<b>x</b>", "", "0x10"]  # tolerances: large is cheap
BUDGET = ["-1e999", "-5", "0", "1", "-0", "0.4"]  # every one clamps or rounds to 1 step
COST_KEYS = {"n", "steps", "layers", "k", "maxsteps", "width", "augment", "t", "batch"}
TEXT_ELEMENTS = ("markdown", "caption", "warning", "error", "info", "success", "title", "header",
                 "subheader", "latex", "code", "exception")  # fmt: skip
UNESCAPED = re.compile(r"<\s*/?\s*(script|img|svg|iframe|b|a)\b|javascript:", re.I)


def _cheap(query: dict, rng: random.Random) -> dict:
    """The query with cost keys given cheap hostile values and a one-step budget."""
    out = {}
    for key, value in query.items():
        canonical = key.strip().lower() if isinstance(key, str) else key
        if canonical in COST_KEYS:
            value = rng.choice(CHEAP_LOW)
        elif canonical in ("rtol", "atol"):
            value = rng.choice(CHEAP_HIGH)
        elif canonical == "budget":
            value = rng.choice(BUDGET)
        out[key] = value
    out.setdefault("budget", rng.choice(BUDGET))
    return out


def _as_url_values(query: dict) -> dict[str, str | list[str]]:
    """What a URL can carry: text keys and text values (lists for repeated keys)."""
    out: dict[str, str | list[str]] = {}
    for key, value in query.items():
        if not isinstance(key, str):
            continue
        if isinstance(value, list | tuple):
            out[key] = [v if isinstance(v, str) else str(v) for v in value] or [""]
        else:
            out[key] = value if isinstance(value, str) else str(value)
    return out


def hostile_queries(seed: int, count: int) -> list[dict[str, str | list[str]]]:
    rng = random.Random(seed)
    clean = [{"budget": "1"}, {"budget": "1", "family": "resnet", "showtest": "1"}]
    fixed = [{"lr": v} for v in NASTY_VALUES[:4]] + [{"dataset": "<script>alert(1)</script>"}]
    fixed += [_random_query(rng) for _ in range(count - len(fixed) - len(clean))]
    return clean + [_as_url_values(_cheap(q, rng)) for q in fixed]


@pytest.fixture
def codec_calls(monkeypatch: pytest.MonkeyPatch) -> list:
    """Spy on the codec the app calls: a list of (query, result), one per call."""
    calls: list = []
    original = ui.links.run_from_query

    def spy(query, **kwargs):
        result = original(query, **kwargs)
        calls.append((query, result))
        return result

    monkeypatch.setattr(ui.links, "run_from_query", spy)
    return calls


def open_link(page: str, query: dict[str, str | list[str]]) -> AppTest:
    """A new session that opens ``page`` with the link's query parameters."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page(page)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def all_text(at: AppTest) -> str:
    return "\n".join(texts(getattr(at, kind)) for kind in TEXT_ELEMENTS)


@pytest.mark.parametrize("page", PAGE_FILES)
def test_hostile_links_on_every_page(page: str, codec_calls: list) -> None:
    queries = hostile_queries(PAGE_FILES.index(page), URLS_PER_PAGE)
    n_noticed = n_clean = 0
    for query in queries:
        codec_calls.clear()
        at = open_link(page, query)
        where = (page, query)
        assert not at.exception, where
        assert FRIENDLY_ERROR not in texts(at.error), where
        assert len(codec_calls) == 1, where
        result = codec_calls[0][1]
        shown = texts(at.warning)
        assert (LINK_WARNING in shown) == bool(result.notices), where
        n_noticed += bool(result.notices)
        n_clean += not result.notices
        assert at.session_state["deqnet"].run == result.run, where
        assert not UNESCAPED.search(all_text(at)), where
    assert n_clean >= 2  # the other direction: a clean link shows no warning
    print(f"\n{page}: {len(queries)} links tried, {n_noticed} with a visible notice")


@pytest.mark.parametrize("page", PAGE_FILES)
def test_every_page_passes_the_link_through_the_codec(page: str, codec_calls: list) -> None:
    query = {"family": "resnet", "layers": "7", "lr": "<img src=x onerror=alert(1)>"}
    at = open_link(page, query)
    assert not at.exception
    assert len(codec_calls) == 1
    seen, result = codec_calls[0]
    assert {k: v[-1] for k, v in seen.items()} == query  # the raw link, untouched
    session = at.session_state["deqnet"]
    assert session.run == result.run and session.run.model.layers == 7
    at.run()
    assert len(codec_calls) == 1  # the link is read on the session's first run only


def test_the_sample_covers_every_url_key() -> None:
    keys = {
        k.strip().lower()
        for i in range(len(PAGE_FILES))
        for q in hostile_queries(i, URLS_PER_PAGE)
        for k in q
    }
    assert {k.lower() for k in QUERY_FIELDS} <= keys
