"""Shared pieces of the benchmarks: tables, interleaved medians, the machine description."""

from __future__ import annotations

import datetime
import math
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torchdiffeq


@dataclass
class Table:
    """One markdown table with a title and a few lines of notes under it."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [f"### {self.title}", "", "| " + " | ".join(self.columns) + " |"]
        lines.append("|" + "|".join("---" for _ in self.columns) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        if self.notes:
            lines += ["", *self.notes]
        return "\n".join(lines) + "\n"


# CPU seconds of this process: torch runs on one thread, and on a shared machine wall time mostly
# measures the neighbours (see the load average in the header).
clock = time.process_time


def interleaved_samples(
    jobs: dict[str, Callable[[], object]], repeats: int, per_repeat: int = 1, warmup: bool = True
) -> dict[str, list[float]]:
    """Seconds per call of each job in each repeat, timed side by side.

    Each repeat runs every job ``per_repeat`` times in turn, so a load change on a shared machine
    hits all jobs alike instead of favouring whichever ran in the quiet minute. With ``warmup``
    one untimed call per job comes first.
    """
    if warmup:
        for job in jobs.values():
            job()
    samples: dict[str, list[float]] = {name: [] for name in jobs}
    for _ in range(repeats):
        for name, job in jobs.items():
            start = clock()
            for _ in range(per_repeat):
                job()
            samples[name].append((clock() - start) / per_repeat)
    return samples


def interleaved_medians(
    jobs: dict[str, Callable[[], object]], repeats: int, per_repeat: int = 1, warmup: bool = True
) -> dict[str, float]:
    """Median seconds per call of each job over ``interleaved_samples``."""
    samples = interleaved_samples(jobs, repeats, per_repeat, warmup)
    return {name: statistics.median(s) for name, s in samples.items()}


def paired_ratio(numerator: list[float], denominator: list[float]) -> float:
    """Median over repeats of numerator / denominator, each pair timed in the same repeat.

    On a virtual machine whose speed drifts by tens of percent within a minute, the ratio of two
    jobs run back to back is steadier than the ratio of their separate medians.
    """
    return statistics.median(a / b for a, b in zip(numerator, denominator, strict=True))


def loglog_slope(x: list[float], y: list[float]) -> float:
    """Least-squares slope of log y against log x (the cost's growth exponent)."""
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f}"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b > 0 and math.isfinite(a / b) else "n/a"


def _command(args: list[str]) -> str:
    # Without OMP_NUM_THREADS: GNU nproc honours it and would report 1 core.
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    try:
        return subprocess.run(args, capture_output=True, text=True, check=False, env=env).stdout
    except OSError:
        return ""


def machine() -> list[str]:
    """Lines describing where and when the numbers were taken."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in _command(["lscpu"]).splitlines()
            if line.startswith("Model name")
        ),
        platform.processor() or "unknown CPU",
    )
    memory = next(
        (
            line.split()[1]
            for line in _command(["free", "-g"]).splitlines()
            if line.startswith("Mem")
        ),
        "?",
    )
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return [
        "All times are CPU seconds of the benchmark process (time.process_time; torch uses one "
        "thread) unless marked wall: on a shared machine wall time mostly measures the "
        "neighbours. (b) shows both.",
        "",
        f"- date: {datetime.datetime.now().isoformat(timespec='minutes')}",
        f"- CPU: {model}, {_command(['nproc']).strip() or os.cpu_count()} cores (nproc), "
        f"{memory} GiB RAM (free -g)",
        f"- load average at start (1, 5, 15 min): {load}",
        f"- python {platform.python_version()}, torch {torch.__version__}, "
        f"torchdiffeq {torchdiffeq.__version__}, torch threads = {torch.get_num_threads()}",
    ]
