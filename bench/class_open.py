"""(g) A class opening one link: light clients open Trajectories at once, against a lone open.

``python -m bench.class_open [--clients 30] [--quick]`` (not part of ``python -m bench``: it starts
three servers and takes about a minute). Each scenario runs on a fresh server of this checkout:

- *lone*: one tab opens the page on a server with no warm-up (``DEQNET_WARM_UP=0``): it
  quick-trains the model and computes every picture itself. Its charts are the reference.
- *class, cold server*: the clients open the page at once on a fresh server with no warm-up, as
  when the students follow a link the moment it is shared (before the teacher opened it).
- *class, after the teacher*: on a fresh server with the warm-up, the teacher's tab opens the page
  first, then the clients open it at once.

A client is a protocol-level tab (tests/light_client.py): its time is from opening the page to the
end of its first script run, the page fully drawn on the server's side (not a browser's
rendering). "Identical" compares a digest of every chart's Plotly JSON with the lone open's.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from browser.conftest import running_app  # noqa: E402
from light_client import LightTab  # noqa: E402

from bench.common import Table  # noqa: E402

TITLE = "(g) A class opening one link: Trajectories opened at once, against a lone open"
PAGE = "trajectories"
OPEN_TIMEOUT = 600.0


def _charts_digest(tab: LightTab) -> str:
    """SHA-256 of the Plotly JSON of every chart the tab shows, in page order."""
    hasher = hashlib.sha256()
    for element in tab.elements():
        if element.WhichOneof("type") == "plotly_chart":
            hasher.update(element.plotly_chart.spec.encode())
    return hasher.hexdigest()


async def _open(url: str) -> tuple[float, str, list[str]]:
    start = time.monotonic()
    tab = await LightTab.open(url, page=PAGE, timeout=OPEN_TIMEOUT)
    seconds = time.monotonic() - start
    try:
        return seconds, _charts_digest(tab), tab.exceptions
    finally:
        await tab.close()


async def _open_together(url: str, clients: int) -> list[tuple[float, str, list[str]]]:
    return list(await asyncio.gather(*(_open(url) for _ in range(clients))))


def _scenario(clients: int, *, warm_up: bool, teacher_first: bool) -> list:
    with running_app({"DEQNET_WARM_UP": "1" if warm_up else "0"}) as url:
        if teacher_first:
            asyncio.run(_open(url))
        return asyncio.run(_open_together(url, clients))


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(clients: int) -> Table:
    load_before = os.getloadavg()[0]
    (lone,) = _scenario(1, warm_up=False, teacher_first=False)
    reference = lone[1]
    scenarios = {
        "lone (no warm-up)": [lone],
        "class, cold server (no warm-up)": _scenario(clients, warm_up=False, teacher_first=False),
        "class, after the teacher (warm-up on)": _scenario(
            clients, warm_up=True, teacher_first=True
        ),
    }
    table = Table(
        TITLE,
        ["scenario", "clients", "p50 s", "p95 s", "slowest s", "identical to lone", "errors"],
    )
    for name, opens in scenarios.items():
        seconds = [s for s, _, _ in opens]
        table.rows.append(
            [
                name,
                str(len(opens)),
                f"{statistics.median(seconds):.2f}",
                f"{_quantile(seconds, 0.95):.2f}",
                f"{max(seconds):.2f}",
                f"{sum(digest == reference for _, digest, _ in opens)} of {len(opens)}",
                str(sum(bool(errors) for _, _, errors in opens)),
            ]
        )
    table.notes = [
        f"Load average (1 min) {load_before:.2f} before, {os.getloadavg()[0]:.2f} after. Each "
        "scenario on a fresh server; times from opening the page to the end of its first script "
        "run (see the module docstring)."
    ]
    return table


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.class_open", description=__doc__)
    parser.add_argument("--clients", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="4 clients")
    args = parser.parse_args()
    print(run(4 if args.quick else args.clients).markdown())


if __name__ == "__main__":
    main()
