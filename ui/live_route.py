"""The live stream's websocket route: frames of one session's training out, a few words in.

``app.py`` serves :data:`LIVE_ROUTE` beside Streamlit's own routes (``st.App``). A page run
gives the live panel a per-session token (:func:`token_for`, from ``secrets``); the panel opens
``<app URL>/_deq/live`` with the subprotocols ``["deqnet.v1", token]``. The handler:

1. refuses, before accepting (the browser sees HTTP 403), a socket whose Origin is missing or
   not the page's own host, or whose Host ``server.allowedHosts`` does not allow: a page on
   another site cannot read anyone's training;
2. accepts with ``deqnet.v1``, then closes an unknown or expired token with 4401 and a second
   socket for a token that already has one with 4409 (the panel then asks its page for a new
   token, which revokes the old one);
3. registers a :class:`~deqnet.live.Mailbox` with the live trainer: the session trains while
   the socket is open and its tab visible, and the sender always sends the newest picture
   (a slow reader drops pictures, never records, and builds no queue);
4. reads only small JSON text messages (``{"visible": false}``, ``{"resend": true}``), closing
   with 1009 on any message, text or binary, over ``MAX_MESSAGE_BYTES`` bytes;
5. stops the session's training as soon as the socket closes (the trainer's next round).

Tokens and sockets live in this process's memory: after a restart the panel reconnects with
the new token its page run gives it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
import weakref
from dataclasses import dataclass, field
from urllib.parse import urlparse

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from streamlit import config
from streamlit.runtime import Runtime
from streamlit.web.server.starlette.starlette_websocket import is_host_allowed

from deqnet.live import Mailbox, encode_update
from ui.live_trainer import live_trainer

_LOG = logging.getLogger("deqnet.ui")

PATH = "_deq/live"
SUBPROTOCOL = "deqnet.v1"
MAX_MESSAGE_BYTES = 1024
# Close codes (4000-4999 are the application's own).
UNKNOWN_TOKEN = 4401
TOKEN_IN_USE = 4409
MESSAGE_TOO_BIG = 1009
# How often the handler checks that the session's page is still connected to Streamlit.
LIVENESS_SECONDS = 1.0


@dataclass(eq=False)
class _Entry:
    """A token's session (weakly: a dropped session ends its token) and what watches it."""

    session: weakref.ReferenceType
    connection: str | None  # the Streamlit session id of the tab, for liveness
    view: dict[str, bool] = field(default_factory=dict)
    socket: WebSocket | None = None


class Tokens:
    """token -> session, for this process. Thread-safe (script threads issue, the loop reads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}

    def issue(self, session, connection: str | None, view: dict[str, bool]) -> str:
        """A new token for ``session`` (its older ones stop working and their sockets close)."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            for old, entry in list(self._entries.items()):
                if entry.session() is session or entry.session() is None:
                    del self._entries[old]
                    _close_soon(entry.socket, UNKNOWN_TOKEN)
            self._entries[token] = _Entry(weakref.ref(session), connection, dict(view))
        return token

    def update_view(self, token: str, view: dict[str, bool]) -> None:
        """The page's view flags changed (e.g. "discrete"): frames follow them."""
        with self._lock:
            entry = self._entries.get(token)
            if entry is not None:
                entry.view = dict(view)

    def claim(self, token: str, socket: WebSocket) -> tuple[_Entry | None, int]:
        """The token's entry, now owned by ``socket``; or (None, close code)."""
        with self._lock:
            entry = self._entries.get(token)
            if entry is None or entry.session() is None:
                return None, UNKNOWN_TOKEN
            if entry.socket is not None:
                return None, TOKEN_IN_USE
            entry.socket = socket
            return entry, 0

    def release(self, entry: _Entry, socket: WebSocket) -> None:
        with self._lock:
            if entry.socket is socket:
                entry.socket = None


TOKENS = Tokens()
_LOOP: asyncio.AbstractEventLoop | None = None


def _close_soon(socket: WebSocket | None, code: int) -> None:
    """Close a socket of the event loop from any thread (a revoked token's)."""
    loop = _LOOP
    if socket is None or loop is None or loop.is_closed():
        return
    try:
        loop.call_soon_threadsafe(lambda: asyncio.ensure_future(_close(socket, code)))
    except RuntimeError:  # the loop closed meanwhile
        pass


async def _close(socket: WebSocket, code: int) -> None:
    if socket.application_state == WebSocketState.CONNECTED:
        try:
            await socket.close(code)
        except (RuntimeError, WebSocketDisconnect):
            pass


def origin_allowed(origin: str | None, host: str | None) -> bool:
    """Whether a browser page at ``origin`` may open the stream of this server (``host``).

    Same origin only: Origin must be present and name the Host the socket was opened to, and
    the Host must pass ``server.allowedHosts``. (Streamlit's own socket also lets configured
    CORS origins in; a frame stream has no cross-site use.)
    """
    if not origin or not host or not is_host_allowed(host):
        return False
    return urlparse(origin).netloc.lower() == host.lower()


def route_path() -> str:
    """The route's path under ``server.baseUrlPath`` (which Streamlit applies only to its own
    routes); the browser builds the same URL from the page's own address."""
    base = str(config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}/{PATH}" if base else f"/{PATH}"


def _connected(connection: str | None) -> bool:
    if connection is None or not Runtime.exists():
        return True
    return Runtime.instance().is_active_session(connection)


async def live_socket(socket: WebSocket) -> None:
    """The handler of :data:`LIVE_ROUTE` (see the module docstring)."""
    global _LOOP
    _LOOP = asyncio.get_running_loop()
    headers = socket.headers
    offered = [p.strip() for p in headers.get("sec-websocket-protocol", "").split(",")]
    if not origin_allowed(headers.get("origin"), headers.get("host")) or (
        len(offered) != 2 or offered[0] != SUBPROTOCOL
    ):
        await socket.close(1008)  # before accept: the client sees HTTP 403
        return
    await socket.accept(subprotocol=SUBPROTOCOL)
    entry, code = TOKENS.claim(offered[1], socket)
    session = entry.session() if entry else None
    if entry is None or session is None:
        await socket.close(code or UNKNOWN_TOKEN)
        return
    try:
        await _serve(socket, entry, session)
    finally:
        TOKENS.release(entry, socket)


async def _serve(socket: WebSocket, entry: _Entry, session) -> None:
    """Frames out, messages in, liveness, until the socket closes or the token goes."""
    loop = asyncio.get_running_loop()
    ready = asyncio.Event()
    mailbox = Mailbox(session, wake=lambda: loop.call_soon_threadsafe(ready.set))
    shown = {"visible": True}
    trainer = live_trainer()
    trainer.watch(mailbox)
    ready.set()  # a new watcher is owed the whole history and the newest picture

    async def send() -> None:
        while True:
            await ready.wait()
            ready.clear()
            update = mailbox.take()
            if update is not None:
                frame = encode_update(update, discretize=bool(entry.view.get("discrete")))
                await socket.send_bytes(frame)

    async def receive() -> None:
        while True:
            message = await socket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text, raw = message.get("text"), message.get("bytes")
            size = len(raw) if raw is not None else len((text or "").encode())
            if size > MAX_MESSAGE_BYTES:
                await socket.close(MESSAGE_TOO_BIG)
                return
            command = _command(text)  # binary messages mean nothing here: {}
            if "visible" in command:
                shown["visible"] = bool(command["visible"])
                mailbox.visible = shown["visible"] and _connected(entry.connection)
                trainer.wake()
            if command.get("resend"):
                mailbox.resend()

    async def alive() -> None:
        while True:
            await asyncio.sleep(LIVENESS_SECONDS)
            if entry.session() is None:  # Streamlit dropped the session
                await socket.close(UNKNOWN_TOKEN)
                return
            mailbox.visible = shown["visible"] and _connected(entry.connection)

    tasks = [asyncio.create_task(job()) for job in (send, receive, alive)]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        trainer.unwatch(mailbox)
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, Exception) and not isinstance(
                result, WebSocketDisconnect | RuntimeError | OSError
            ):
                _LOG.error("live socket ended with an error", exc_info=result)
        await _close(socket, 1000)


def _command(text: str | None) -> dict:
    """A browser message as a dict; anything else as {} (ignored)."""
    try:
        value = json.loads(text or "")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


LIVE_ROUTE = WebSocketRoute(route_path(), live_socket, name="deqnet-live")
