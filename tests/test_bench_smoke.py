"""`python -m bench --quick --no-write` runs end to end and prints every table (no timing check)."""

import os
from pathlib import Path

from subprocesses import run_python

ROOT = Path(__file__).resolve().parents[1]


def test_bench_quick_prints_all_tables() -> None:
    results = ROOT / "bench" / "RESULTS.md"
    before = results.read_bytes() if results.exists() else None
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = run_python(["-m", "bench", "--quick", "--no-write"], cwd=ROOT, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr
    from bench import REGISTRY

    for module in REGISTRY:
        assert f"### {module.TITLE}" in proc.stdout
    separators = [line for line in proc.stdout.splitlines() if line.startswith("|---|")]
    assert len(separators) == len(REGISTRY)
    assert "torch threads = 1" in proc.stdout
    assert (results.read_bytes() if results.exists() else None) == before
