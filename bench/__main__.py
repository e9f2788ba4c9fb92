"""``python -m bench [--quick] [--no-write]``: run every table in REGISTRY.

The full run takes a few minutes on two cores, prints markdown and writes bench/RESULTS.md;
``--quick`` is a smoke run on tiny sizes with one repeat (its numbers mean nothing, so it never
writes the file).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from bench import REGISTRY
from bench.common import machine

RESULTS = Path(__file__).with_name("RESULTS.md")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat; no file")
    parser.add_argument("--no-write", action="store_true", help="print only, keep RESULTS.md")
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    header = ["# deqnet benchmarks", "", *machine(), ""]
    if args.quick:
        header.insert(2, "Quick smoke run: tiny sizes, one repeat. Not representative.\n")
    print("\n".join(header), flush=True)
    parts = []
    for module in REGISTRY:
        text = module.run(args.quick).markdown()
        parts.append(text)
        print(text, flush=True)
    footer = f"Total benchmark time: {time.perf_counter() - start:.0f} s."
    print(footer)
    if not (args.quick or args.no_write):
        RESULTS.write_text("\n".join([*header, *parts, footer, ""]), encoding="utf-8")
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
