"""``python -m deqnet.sweep SPEC.json --out RESULTS.parquet``: see deqnet/sweep/cli.py."""

import sys

from deqnet.sweep.cli import main

if __name__ == "__main__":
    sys.exit(main())
