"""Warm-up: the server trains what the pages open on before the first student asks for it.

The default model's quick training, Topology's three lesson models and the Digits model are
deterministic and kept in the server-wide cache (``ui.shared_cache``); ``app.py`` starts this
once, in a background thread, as the server starts. A page that asks for one of them meanwhile
waits for this very computation (the cache computes each key once), so nothing is trained twice,
and the work takes its turns at the CPU like any session's (``ui.slots``).

Set ``DEQNET_WARM_UP=0`` to skip it (a server that only ever serves other links).
"""

from __future__ import annotations

import logging
import os
import threading

from deqnet import RunConfig
from deqnet.digits.models import DigitsConfig
from deqnet.digits.training import DigitsTrainConfig
from ui.digits_state import trained_digits
from ui.lesson_models import TOPOLOGY_LESSONS, trained_lesson
from ui.state import QUICK_SECONDS, quick_trained

ENV_WARM_UP = "DEQNET_WARM_UP"
_LOG = logging.getLogger("deqnet.warm_up")


def warm_up() -> None:
    """Train, in order of how soon a class needs them: the default model (every analysis page
    opens on it), Topology's models, the Digits model. Never raises (logs instead)."""
    try:
        quick_trained(RunConfig())
        for name in TOPOLOGY_LESSONS:
            trained_lesson(name, QUICK_SECONDS)
        trained_digits(DigitsConfig(), DigitsTrainConfig())
    except Exception:
        _LOG.exception("warm-up failed; the pages will train on first use instead")


def start_warm_up() -> threading.Thread | None:
    """Start :func:`warm_up` in a daemon thread, unless ``DEQNET_WARM_UP=0``."""
    if os.environ.get(ENV_WARM_UP, "1").strip() == "0":
        return None
    thread = threading.Thread(target=warm_up, name="deqnet-warm-up", daemon=True)
    thread.start()
    return thread


__all__ = ["ENV_WARM_UP", "start_warm_up", "warm_up"]
