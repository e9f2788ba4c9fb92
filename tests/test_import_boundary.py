"""The backend package must not import Streamlit, and must pin torch to one thread.

Each check runs in a fresh interpreter so that modules imported by other tests
(or by pytest plugins) cannot hide or fake a result.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str):  # -> the JSON value printed last by `code`
    env = dict(os.environ)
    # Deliberately ask for more threads: deqnet itself must bring torch down to 1.
    env["OMP_NUM_THREADS"] = "2"
    env["MKL_NUM_THREADS"] = "2"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
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
