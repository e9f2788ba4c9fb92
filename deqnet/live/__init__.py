"""Live training without a web framework: the trainer thread, its pictures, the frames it sends.

``LiveTrainer`` trains every watched session (``Trainee``: ``ui.state.Session`` is one) and posts
to each watcher's ``Mailbox``; ``encode_update`` turns what a mailbox holds into one binary
frame (``frames``), which ``ui.live_route`` sends over a websocket. Nothing here imports
Streamlit or Starlette, so it is tested in a plain process (tests/test_live_*.py).
"""

from deqnet.live.frames import decode_frame, encode_frame, encode_update
from deqnet.live.mailbox import LiveState, Mailbox, Trainee, Update
from deqnet.live.picture import (
    GRID_POINTS,
    LIVE_GRID_POINTS,
    PREVIEW_POINTS,
    Picture,
    make_picture,
    stacked_grids,
)
from deqnet.live.status import metric_texts, status_text
from deqnet.live.trainer import CRASH_NOTE, LiveTrainer

__all__ = [
    "CRASH_NOTE",
    "GRID_POINTS",
    "LIVE_GRID_POINTS",
    "PREVIEW_POINTS",
    "LiveState",
    "LiveTrainer",
    "Mailbox",
    "Picture",
    "Trainee",
    "Update",
    "decode_frame",
    "encode_frame",
    "encode_update",
    "make_picture",
    "metric_texts",
    "stacked_grids",
    "status_text",
]
