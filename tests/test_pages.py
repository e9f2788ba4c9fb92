"""The page registry (ui.pages): every page has its script, the navigation starts at the
Playground, and no other source file writes a page's path."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from ui.pages import DEFAULT_PAGE, PAGES, by_title, page_path, url_path

ROOT = Path(__file__).resolve().parents[1]

SOURCES = [ROOT / "app.py", ROOT / "streamlit_app.py", *sorted((ROOT / "ui").glob("*.py"))]
SOURCES += sorted((ROOT / "app_pages").glob("*.py")) + sorted((ROOT / "deqnet").rglob("*.py"))
PAGE_PATH = re.compile(r"app_pages/\w+\.py")


def test_every_registered_page_has_its_script() -> None:
    for stem, page in PAGES.items():
        assert page.stem == stem and page.path == page_path(stem)
        assert (ROOT / page.path).is_file(), page.path


def test_the_default_page_is_the_playground_at_the_root_url() -> None:
    assert DEFAULT_PAGE == "playground" == next(iter(PAGES))
    assert url_path("playground") == "" and url_path("momentum") == "momentum"


def test_only_the_registry_writes_page_paths() -> None:
    writers = set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if PAGE_PATH.search(node.value):
                    writers.add(path.relative_to(ROOT))
    assert writers == set(), writers


def test_titles_are_unique_so_the_frame_can_find_a_page_by_its_title() -> None:
    titles = [page.title for page in PAGES.values()]
    assert len(set(titles)) == len(titles)
    assert all(by_title(page.title) is page for page in PAGES.values())
