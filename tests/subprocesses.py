"""Running this interpreter in a fresh process, for the tests that need a clean import state."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path


def run_python(
    args: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """``python args`` in ``cwd`` with environment ``env``; stdout and stderr captured as text.
    A failing process does not raise: the caller asserts on ``returncode`` (with stderr)."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
