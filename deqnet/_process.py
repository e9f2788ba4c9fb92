"""Process-wide settings for tiny models, applied once when deqnet is imported."""

from __future__ import annotations

import ctypes

import torch

# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2


def tune_process() -> None:
    """One torch thread, and freed memory kept by malloc instead of given back to the OS.

    One thread: the models are dominated by per-operation overhead, so more threads only cost
    synchronisation, and a server shares its cores among sessions anyway.

    Freed memory: a training step of 16 stacked models keeps about 4 MB of activations for the
    backward pass and frees them at its end; glibc then returns the top of the heap to the OS,
    and the next step takes about a thousand page faults to get it back (``bench/sweep_speedup``
    measured about a tenth of the step). Keeping up to 256 MB of freed memory removes them; the
    resident size stays at its peak instead of shrinking between steps. Without glibc (macOS,
    musl) nothing changes.
    """
    torch.set_num_threads(1)
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_TRIM_THRESHOLD, 256 << 20)
    mallopt(_M_TOP_PAD, 16 << 20)
