"""The Topology page in AppTest: it trains the three lesson models itself and shows each one.

The page never uses the session's model, so no sidebar settings are needed; the training is
time-boxed per page run (``app_pages/topology.py`` TRAIN_SECONDS), hence the long timeout.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from app_harness import APP, texts
from streamlit.testing.v1 import AppTest

from deqnet import PRESETS
from deqnet.analysis.topology import topology_snapshots
from ui.lesson_models import LessonModel, lesson_models, view

PAGE = "app_pages/topology.py"
ROOT = Path(__file__).resolve().parents[1]
MODELS = ("rings-2d", "rings-coarse-fold", "rings-augmented")


@pytest.fixture(scope="module")
def at() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=300)
    app.switch_page(PAGE)
    return app.run()


def _shown(item: LessonModel) -> dict:
    """The pictures and numbers the page computed for this model (never computed here)."""
    return view(item, lambda _: pytest.fail(f"the page showed nothing for {item.name}"))


def _charts(at: AppTest) -> dict[str, dict]:
    """Figure dicts of the page's charts by widget key (the key ends the element id)."""
    return {
        element.proto.id.split("-", 2)[-1]: json.loads(element.proto.spec)
        for element in at.get("plotly_chart")
    }


def test_the_page_trains_the_three_lesson_models_and_shows_them(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert texts(at.error) == ""
    charts = _charts(at)
    assert set(charts) == {f"topo_{name}" for name in MODELS}
    store = lesson_models(MODELS)  # the server's trained models, as the page got them
    assert set(store) == set(MODELS)
    assert all(store[name].run == PRESETS[name].run for name in MODELS)
    assert all(item.steps_done > 0 for item in store.values())
    flow = charts["topo_rings-2d"]
    assert not [tr for tr in flow["data"] if tr["name"].startswith("turned over")]
    fold = charts["topo_rings-coarse-fold"]
    assert [tr for tr in fold["data"] if tr["name"].startswith("turned over")]
    shown = "\n".join(str(c.value) for c in at.caption)
    assert "nothing is turned over" in shown and "no ODE can do either" in shown
    # The final features and the classifier's plane that separates them.
    assert {tr["type"] for tr in charts["topo_rings-augmented"]["data"]} == {"scatter3d", "mesh3d"}


def test_the_numbers_shown_are_those_of_the_trained_models(at: AppTest) -> None:
    store = lesson_models(MODELS)
    fold = store["rings-coarse-fold"]
    snap = _shown(fold)["snapshots"]
    again = topology_snapshots(fold.trainer.model, 5, region_points=31, grid_lines=21)
    assert snap.turned_fraction == pytest.approx(again.turned_fraction)
    assert snap.crossed == pytest.approx(again.crossed) and snap.crossed > 0
    # Five panels; the network has 4 layers, so every layer is one panel.
    assert snap.layers.tolist() == [0, 1, 2, 3, 4]
    assert _shown(store["rings-2d"])["snapshots"].turned_fraction == 0.0


def _runtime_imports(path: Path) -> set[str]:
    """Top-level packages a module imports, leaving out ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and getattr(block.test, "id", "") == "TYPE_CHECKING"
        for node in ast.walk(block)
    }
    names = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("page", ["app_pages/layers.py", PAGE])
def test_the_layers_and_topology_pages_only_lay_out(page: str) -> None:
    path = ROOT / page
    assert {"numpy", "torch"}.isdisjoint(_runtime_imports(path))
    assert len(path.read_text(encoding="utf-8").splitlines()) < 350
