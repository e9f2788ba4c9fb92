"""Make user-controlled text safe to show inside Streamlit markdown.

``st.warning``, ``st.info``, ``st.error`` and ``st.markdown`` render markdown (with GitHub
extensions, ``$...$`` maths, ``:color[...]`` directives and emoji shortcodes) plus some HTML. Any
text that came from a URL or an uploaded file must therefore be neutralised before it is shown: a
link value such as ``[click](javascript:alert(1))`` or ``<img onerror=...>`` must appear as the
literal characters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

__all__ = [
    "ELLIPSIS",
    "USER_TEXT_LIMIT",
    "ZERO_WIDTH_SPACE",
    "Notices",
    "clip_text",
    "listing",
    "quote",
    "safe_text",
    "show_value",
]

ELLIPSIS = "…"
USER_TEXT_LIMIT = 40  # raw user characters quoted in one notice
NOTICE_LIMIT = 240  # visible characters of one notice

# Markdown-significant ASCII punctuation, backslash-escaped (CommonMark allows escaping any ASCII
# punctuation). ":" and "@" stop Streamlit's directives/shortcodes and GFM autolinks (http:, www.,
# a@b.c; "." is escaped too); "$" stops maths; "-", "+", "#", "!", "|" stop lists, headings,
# images and tables. HTML specials are not in this set: they become entities afterwards.
_MARKDOWN_SPECIALS = "\\`*_{}[]()#+-.!|~$:@^"
_MARKDOWN_RE = re.compile("([" + re.escape(_MARKDOWN_SPECIALS) + "])")
_HTML_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"}
_HTML_RE = re.compile("[&<>\"']")
_WHITESPACE_RE = re.compile(r"\s+")

# Streamlit and remark-gfm find some patterns in the *decoded* text, after backslash escapes and
# entities are resolved: ":material/icon:" (Streamlit rewrites it in the raw source), emoji
# shortcodes, and GFM literal autolinks (www.x, http://x, a@b.c). A zero-width space after ":" or
# "@" (when text follows) and after "www" before "." breaks them all without changing what is seen.
ZERO_WIDTH_SPACE = "\u200b"
_LINK_BREAK_RE = re.compile(r"([:@])(?=\S)|(?i:(www)(?=\.))")

# Unicode categories removed outright: controls (NUL, ESC, ...), format characters (bidi overrides
# such as U+202E, zero-width joiners, BOM), lone surrogates (cannot be encoded) and unassigned code
# points. Line/paragraph separators and tabs/newlines become spaces instead.
_DROP_CATEGORIES = {"Cc", "Cf", "Cs", "Cn"}
_SPACE_CATEGORIES = {"Zl", "Zp", "Zs"}


def _to_str(value: object) -> str:
    """Any object as text; never raises (a hostile ``__str__`` yields a placeholder)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    try:
        return str(value)
    except Exception:  # a user object with a broken __str__ must not break the page
        return "?"


def clip_text(value: object, limit: int | None = 40) -> str:
    """Text without control/format characters, whitespace collapsed, at most ``limit`` chars.

    Not escaped: use this for text that is later passed through :func:`safe_text` as part of a
    longer message. If shortened, the result ends with "…" and has exactly ``limit`` characters.
    """
    text = _to_str(value)
    # Bound the work on huge inputs before the per-character pass; 4x leaves room for dropped chars.
    if limit is not None and len(text) > 4 * limit + 16:
        text = text[: 4 * limit + 16]
        truncated = True
    else:
        truncated = False
    if text.isascii() and text.isprintable():  # fast path: nothing to drop
        kept = [text]
    else:
        kept = _clean_chars(text)
    text = _WHITESPACE_RE.sub(" ", "".join(kept)).strip()
    if limit is not None and (truncated or len(text) > limit):
        text = text[: max(limit - 1, 0)].rstrip() + ELLIPSIS
    return text


def _clean_chars(text: str) -> list[str]:
    """Characters of ``text`` minus the dropped categories, with every kind of space as " "."""
    kept = []
    for ch in text:
        category = unicodedata.category(ch)
        if category in _DROP_CATEGORIES and ch not in "\t\n\r\x0b\x0c":
            continue
        kept.append(" " if category in _SPACE_CATEGORIES or ch.isspace() else ch)
    return kept


def safe_text(s: object, limit: int | None = 40) -> str:
    """``s`` made inert for Streamlit markdown, shortened to ``limit`` visible characters.

    Steps: drop control/format characters (NUL, bidi overrides, zero-width), collapse whitespace to
    single spaces, truncate to ``limit`` characters with a trailing "…" (``limit=None``: no limit),
    put a zero-width space where Streamlit or GFM would find an icon, emoji or link in the decoded
    text (``:x``, ``@x``, ``www.``), then backslash-escape markdown punctuation and turn
    ``& < > " '`` into HTML entities. The result contains no raw ``<`` or ``>`` and renders as the
    literal (cleaned, truncated) text.
    """
    text = clip_text(s, limit)
    text = _LINK_BREAK_RE.sub(lambda m: (m.group(1) or m.group(2)) + ZERO_WIDTH_SPACE, text)
    text = _MARKDOWN_RE.sub(r"\\\1", text)
    return _HTML_RE.sub(lambda m: _HTML_ENTITIES[m.group(0)], text)


# --------------------------------------------------------------------------------------------
# Notices about untrusted input
# --------------------------------------------------------------------------------------------


class Notices:
    """Collects plain-text notices; :meth:`done` escapes them and caps their number at ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: list[str] = []

    def add(self, text: str) -> None:
        if text not in self.items:
            self.items.append(text)

    def done(self) -> list[str]:
        """At most ``limit`` markdown-safe notices, then one "… and k more"."""
        shown = [safe_text(text, NOTICE_LIMIT) for text in self.items[: self.limit]]
        if len(self.items) > self.limit:
            shown.append(safe_text(f"… and {len(self.items) - self.limit} more", NOTICE_LIMIT))
        return shown


def quote(value: object) -> str:
    """User text for a notice: cleaned and at most USER_TEXT_LIMIT characters, in quotes."""
    return f"'{clip_text(value, USER_TEXT_LIMIT)}'"


def show_value(value: Any) -> str:
    """One of our own values (a number or a choice) for a notice."""
    return format(value, "g") if isinstance(value, float) else str(value)


def listing(names: Sequence[str], budget: int, total: int | None = None) -> str:
    """Comma-separated names within ``budget`` characters, then "and k more" (of ``total``)."""
    out: list[str] = []
    used = 0
    for name in names:
        if out and used + len(name) + 2 > budget:
            break
        out.append(name)
        used += len(name) + 2
    rest = (len(names) if total is None else total) - len(out)
    return ", ".join(out) + (f" and {rest} more" if rest else "")
