"""Ready to host: production settings, Dockerfile, requirements, and no unsafe loading of user data.

Docker cannot be built on this machine (no engine), so the Dockerfile is checked by reading it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from streamlit import config as st_config

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION = ROOT / ".streamlit" / "config.production.toml"
DEVELOPMENT = ROOT / ".streamlit" / "config.toml"


def _toml(path: Path) -> dict:
    return tomllib.loads(path.read_text())


def test_production_settings_are_safe_and_known_to_streamlit() -> None:
    prod = _toml(PRODUCTION)
    server, client = prod["server"], prod["client"]
    assert server["enableXsrfProtection"] is True and server["enableCORS"] is True
    assert server["maxUploadSize"] == 5
    assert server["headless"] is True and server["runOnSave"] is False
    assert server["fileWatcherType"] == "none"
    assert server["enableAgentApi"] is False
    assert client["showErrorDetails"] == "none"
    assert prod["browser"]["gatherUsageStats"] is False
    options = st_config.get_config_options()
    for section, values in prod.items():
        for key in values:
            assert f"{section}.{key}" in options, f"{section}.{key} is not a streamlit option"


def test_production_and_development_configs_agree_where_they_must() -> None:
    prod, dev = _toml(PRODUCTION), _toml(DEVELOPMENT)
    # The copy replaces config.toml: same look and the same client and runner behaviour.
    for section in ("theme", "client", "runner", "browser"):
        assert prod[section] == dev[section], section
    assert dev["server"]["maxUploadSize"] <= 5 and dev["server"]["enableXsrfProtection"]


def test_the_dockerfile_follows_the_convention() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.M)
    assert re.search(r"^WORKDIR /app$", text, re.M)
    assert "--index-url https://download.pytorch.org/whl/cpu" in text
    assert "OMP_NUM_THREADS=1" in text and "EXPOSE 8501" in text
    assert re.search(r"HEALTHCHECK .*\n?.*curl --fail .*http://localhost:8501/_stcore/health", text)
    assert "COPY .streamlit/config.production.toml .streamlit/config.toml" in text
    entry = re.search(r"^ENTRYPOINT (\[.*\])$", text, re.M)
    assert entry and '"streamlit", "run", "app.py"' in entry.group(1)
    assert "--server.port=8501" in entry.group(1) and "--server.address=0.0.0.0" in entry.group(1)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "artifacts", "tests"} <= set(ignored)


def test_requirements_give_cpu_torch_online_and_install_offline() -> None:
    runtime = (ROOT / "requirements.txt").read_text().splitlines()
    dev = (ROOT / "requirements-dev.txt").read_text()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in runtime
    torch_pin = next(line for line in runtime if line.startswith("torch=="))
    assert f"TORCH  := {torch_pin}" in (ROOT / "Makefile").read_text()
    # The offline install never sees the index line: dev requirements do not include the file,
    # and the Makefile installs a filtered copy.
    assert "-r requirements.txt" not in dev
    assert "grep -v '^--extra-index-url' requirements.txt" in (ROOT / "Makefile").read_text()
    assert "streamlit==" in "\n".join(runtime)  # Community Cloud must not upgrade it silently


def test_importing_the_app_makes_torch_single_threaded() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    code = "import ui.state, torch; print(torch.get_num_threads())"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "1"


UNSAFE = re.compile(
    r"\beval\(|\bexec\(|\bpickle\b|torch\.load|\bparse_expr\b|\bsympify\b|yaml\.load|\bnumexpr\b"
    r"|os\.system|\bsubprocess\b|__import__|\bmarshal\b|\bshelve\b|allow_pickle|np\.load"
)


@pytest.mark.parametrize("folder", ["app.py", "streamlit_app.py", "ui", "app_pages", "deqnet"])
def test_no_code_path_evaluates_or_unpickles_user_data(folder: str) -> None:
    """The app never evals, unpickles or torch.loads anything (docstrings may say so)."""
    paths = [ROOT / folder] if folder.endswith(".py") else sorted((ROOT / folder).rglob("*.py"))
    assert paths and all(path.is_file() for path in paths), folder
    for path in paths:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if UNSAFE.search(code) and "never" not in code:
                pytest.fail(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
