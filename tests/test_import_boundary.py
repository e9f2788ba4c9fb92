"""The backend package must not import Streamlit, and must pin torch to one thread; the pages
import neither numpy nor torch (they only lay out what deqnet computes).

Each check runs in a fresh interpreter so that modules imported by other tests
(or by pytest plugins) cannot hide or fake a result.
"""

import ast
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from subprocesses import run_python

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str):  # -> the JSON value printed last by `code`
    env = dict(os.environ)
    # Deliberately ask for more threads: deqnet itself must bring torch down to 1.
    env["OMP_NUM_THREADS"] = "2"
    env["MKL_NUM_THREADS"] = "2"
    proc = run_python(["-c", code], cwd=ROOT, env=env, timeout=120)
    assert proc.returncode == 0, f"subprocess failed:\n{proc.stdout}\n{proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _streamlit_modules(mods: list[str]) -> list[str]:
    return [m for m in mods if m == "streamlit" or m.startswith("streamlit.")]


def test_import_deqnet_does_not_import_streamlit() -> None:
    mods = _run("import json, sys, deqnet; print(json.dumps(sorted(sys.modules)))")
    assert "deqnet" in mods
    assert "torch" in mods
    assert _streamlit_modules(mods) == []


def test_no_deqnet_submodule_imports_streamlit() -> None:
    code = (
        "import importlib, json, pkgutil, sys, deqnet\n"
        "for m in pkgutil.walk_packages(deqnet.__path__, 'deqnet.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    assert _streamlit_modules(_run(code)) == []


def test_import_deqnet_sets_single_thread() -> None:
    out = _run("import json, torch, deqnet; print(json.dumps(torch.get_num_threads()))")
    assert out == 1


def _runtime_imports(nodes: Iterable[ast.AST]) -> Iterator[str]:
    """Top-level package names imported at run time by ``nodes`` and everything inside them
    (not under ``if TYPE_CHECKING:``)."""
    for node in nodes:
        if isinstance(node, ast.If) and ast.unparse(node.test) in TYPE_CHECKING_TESTS:
            yield from _runtime_imports(node.orelse)
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module.split(".")[0]
        yield from _runtime_imports(ast.iter_child_nodes(node))


TYPE_CHECKING_TESTS = {"TYPE_CHECKING", "typing.TYPE_CHECKING"}
PAGE_FILES = sorted((ROOT / "app_pages").glob("*.py"))


@pytest.mark.parametrize("path", PAGE_FILES, ids=[path.stem for path in PAGE_FILES])
def test_pages_only_lay_out_no_numpy_or_torch(path: Path) -> None:
    # Pages read widgets and show figures; arrays and tensors are deqnet's business.
    imported = set(_runtime_imports(ast.parse(path.read_text(encoding="utf-8")).body))
    assert not imported & {"numpy", "torch"}, f"{path.name} imports {imported & {'numpy', 'torch'}}"


def test_the_page_check_sees_imports_in_functions_but_not_typing_blocks() -> None:
    code = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import numpy as np\nelse:\n    import json\n"
        "def f():\n    from torch import nn\n"
    )
    assert set(_runtime_imports(ast.parse(code).body)) == {"typing", "json", "torch"}
