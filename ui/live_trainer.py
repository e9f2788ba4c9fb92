"""The server's one :class:`deqnet.live.LiveTrainer`, wired to the app's sessions.

A module-level singleton, not ``st.cache_resource``: the websocket route (imported by the
``st.App`` launcher) and the script runs share this module (one ``sys.modules``), and the route
runs outside any script run.
"""

from __future__ import annotations

import threading

from deqnet.live import LiveTrainer
from ui.budget import memory_problem
from ui.state import note

_LOCK = threading.Lock()
_TRAINER: LiveTrainer | None = None


def live_trainer() -> LiveTrainer:
    """The server's LiveTrainer (started on first use)."""
    global _TRAINER
    with _LOCK:
        if _TRAINER is None:
            _TRAINER = LiveTrainer(memory_problem=memory_problem, note=note)
        return _TRAINER
