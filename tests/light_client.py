"""A protocol-level Streamlit client that behaves like one browser tab, for load tests.

Real Chromium tabs cost this 2-core machine far more CPU than the server work they cause, so a
many-session load test with them measures the browsers. :class:`LightTab` speaks Streamlit
1.67's websocket protocol itself and does the server-visible part of what the web app
(``streamlit/static``) does on a page:

- Before connecting it loads the page, ``/_stcore/health`` and ``/_stcore/host-config``, as the
  browser and its connection manager do. The health response sets the ``_streamlit_xsrf``
  cookie when ``server.enableXsrfProtection`` is on; the websocket ``/_stcore/stream`` then
  offers the subprotocols ``["streamlit", <cookie value>]`` and sends the cookie and an
  ``Origin`` header. (The server accepts the socket without them; it checks the token only
  before reading an auth cookie, but a browser sends them, so this client does too.)
- Its first ``BackMsg.rerun_script`` carries the link's query string, an empty
  ``page_script_hash`` and the URL's page path as ``page_name`` ("" for the default page).
  Later reruns send the current page's hash (from the last ``Navigation`` message, or the
  ``NewSession`` of an app without st.navigation) and the query string the app last set
  (``ForwardMsg.page_info_changed``), as the browser does.
- It keeps the element tree by ``ForwardMsg.metadata.delta_path`` and, when a run finishes,
  drops what that run did not redraw, following the frontend's ``clearStaleNodes``.
- It keeps widget states like the frontend's WidgetStateManager: a widget stores its default
  (or the server's value, when the element has ``set_value``) as soon as it is drawn, and every
  rerun sends all stored states; a click adds a ``trigger_value`` to that one rerun only.
- It keeps the browser's ForwardMsg cache (cacheable deltas, ``ref_hash`` replies, expiry
  after ``max_cached_message_age`` runs) and reports it in ``cached_message_hashes``, so the
  server sends it what it would send a browser.
- For each ``ForwardMsg.auto_rerun`` (sent while a full run declares a fragment with
  ``run_every``; ``AutoRerun.interval`` is in seconds) it starts a repeating timer, like the
  frontend's ``setInterval``, that sends ``rerun_script`` with that ``fragment_id`` and
  ``is_auto_rerun`` set. A full run's ``NewSession`` cancels all timers (the run re-registers
  the fragments it still declares) and ``StopAutoRerun`` cancels the listed ones.

On the Playground this sends what Chromium sends (checked by logging the server's BackMsgs
for both): the same fields, and the same widget states in the same order.

Not emulated: the JS/CSS downloads of a first visit (and static files such as a component's
plotly.js), custom components' JavaScript (a components-v2 ``setStateValue`` call, e.g. a chart
asking to be resent, never happens here), file uploads, reconnecting, the ``app_heartbeat`` the
frontend sends only when an embedding host asks for it, a browser's rendering delays (a busy
tab's timers fire late), and widget types not in ``_WIDGET_VALUES`` (they store no state;
buttons never do).

The API is asyncio, so that all tabs of a load test share one thread and one event loop::

    async def main(base_url: str) -> None:
        async with await LightTab.open(base_url, "budget=2000") as tab:
            await tab.click("pg_train")
            await asyncio.sleep(20)
            print(len(tab.step_changes), tab.metric("Step"))

tests/test_load.py drives a class with it.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Block_pb2 import Block
from streamlit.proto.Element_pb2 import Element
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.NumberInput_pb2 import NumberInput
from streamlit.proto.Slider_pb2 import Slider
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.runtime.state.common import user_key_from_element_id
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

XSRF_COOKIE = "_streamlit_xsrf"
STEP_LABEL = "Step"  # the Playground's metric whose changes a tab records
HTTP_TIMEOUT = 30.0  # seconds for each page request before the websocket opens

_STATUS = ForwardMsg.ScriptFinishedStatus
_FULL_RUN_DONE = _STATUS.FINISHED_SUCCESSFULLY
_FRAGMENT_RUN_DONE = _STATUS.FINISHED_FRAGMENT_RUN_SUCCESSFULLY
_COMPILE_ERROR = _STATUS.FINISHED_WITH_COMPILE_ERROR
_EARLY_FOR_RERUN = _STATUS.FINISHED_EARLY_FOR_RERUN
_ROOT_CONTAINERS = 4  # main, sidebar, event, bottom: the first index of every delta path
_TRIGGER_KINDS = ("button", "download_button")


class ProtocolError(RuntimeError):
    """The server sent something a browser would fail on (a bad delta path, a cache miss)."""


# --- Widget states: what each widget stores in the frontend's WidgetStateManager. -------------
# Each function gets the element's proto and whether to use its current value (``set_value``)
# rather than its default, and mirrors the frontend component's getDefaultStateFromProto /
# getCurrStateFromProto / updateWidgetMgrState. A missing value is sent as a state with only
# the id, as the frontend sends a null.


def _with_string(widget_id: str, value: str | None) -> WidgetState:
    state = WidgetState(id=widget_id)
    if value is not None:
        state.string_value = value
    return state


def _with_strings(widget_id: str, values: Sequence[str]) -> WidgetState:
    state = WidgetState(id=widget_id)
    state.string_array_value.data.extend(values)
    return state


def _checkbox_state(proto: Any, current: bool) -> WidgetState:
    """st.checkbox and st.toggle."""
    return WidgetState(id=proto.id, bool_value=proto.value if current else proto.default)


def _choice_state(proto: Any, current: bool) -> WidgetState:
    """st.selectbox and st.radio: the chosen option's text."""
    if current:
        value = proto.raw_value if proto.HasField("raw_value") else None
    elif proto.HasField("default") and 0 <= proto.default < len(proto.options):
        value = proto.options[proto.default]
    else:
        value = None
    return _with_string(proto.id, value)


def _slider_state(proto: Any, current: bool) -> WidgetState:
    """st.slider (numbers) and st.select_slider (option texts, via option indices)."""
    if proto.type != Slider.Type.SELECT_SLIDER:
        state = WidgetState(id=proto.id)
        state.double_array_value.data.extend(proto.value if current else proto.default)
        return state
    options, default = list(proto.options), list(proto.default)
    indices = default
    if current and proto.raw_value:
        indices = [
            options.index(raw) if raw in options else (default[i] if i < len(default) else 0)
            for i, raw in enumerate(proto.raw_value)
        ]
    return _with_strings(proto.id, [options[i] if 0 <= i < len(options) else "" for i in indices])


def _number_state(proto: Any, current: bool) -> WidgetState:
    """st.number_input: an int or a float by the element's data type."""
    state = WidgetState(id=proto.id)
    if current and proto.HasField("value"):
        value = proto.value
    elif proto.HasField("default"):
        value = proto.default
    else:
        return state
    if proto.data_type == NumberInput.DataType.INT:
        state.int_value = int(value)
    else:
        state.double_value = value
    return state


def _text_state(proto: Any, current: bool) -> WidgetState:
    """st.text_input and st.text_area (the current value does not fall back to the default)."""
    name = "value" if current else "default"
    return _with_string(proto.id, getattr(proto, name) if proto.HasField(name) else None)


def _color_state(proto: Any, current: bool) -> WidgetState:
    """st.color_picker."""
    return _with_string(proto.id, proto.value if current else proto.default)


def _multiselect_state(proto: Any, current: bool) -> WidgetState:
    """st.multiselect: the chosen options' texts."""
    if current:
        return _with_strings(proto.id, list(proto.raw_values))
    options = proto.options
    return _with_strings(proto.id, [options[i] for i in proto.default if 0 <= i < len(options)])


def _button_group_state(proto: Any, current: bool) -> WidgetState:
    """st.pills, st.segmented_control, st.feedback: option texts (icon, space, content)."""
    if current:
        return _with_strings(proto.id, list(proto.raw_values))
    texts = []
    for index in proto.default:
        if 0 <= index < len(proto.options):
            option = proto.options[index]
            text = f"{option.content_icon} {option.content}".strip()
            texts.append(text if option.content_icon else option.content)
    return _with_strings(proto.id, [text for text in texts if text])


def _file_uploader_state(proto: Any, current: bool) -> WidgetState:
    """st.file_uploader: no files (this client never uploads)."""
    state = WidgetState(id=proto.id)
    state.file_uploader_state_value.SetInParent()
    return state


_WIDGET_VALUES: dict[str, Callable[[Any, bool], WidgetState]] = {
    "checkbox": _checkbox_state,
    "selectbox": _choice_state,
    "radio": _choice_state,
    "slider": _slider_state,
    "number_input": _number_state,
    "text_input": _text_state,
    "text_area": _text_state,
    "color_picker": _color_state,
    "multiselect": _multiselect_state,
    "button_group": _button_group_state,
    "file_uploader": _file_uploader_state,
}


# --- The element tree. -----------------------------------------------------------------------


@dataclass(eq=False)
class _Node:
    """One slot of the page: an element, a block (with children), or a bare transient.

    ``run_id`` is the script run that last wrote the node (or a node below it, for blocks);
    ``fragment_id`` the fragment its delta came from. A transient (a spinner drawn where no
    element is yet) holds a slot so that the server's next index there stays valid.
    """

    run_id: str
    fragment_id: str = ""
    element: Element | None = None
    block: Block | None = None
    transients: int = 0
    children: list[_Node] = field(default_factory=list)


def _kind_and_proto(element: Element) -> tuple[str, Any]:
    kind = element.WhichOneof("type")
    return kind, getattr(element, kind)


def _element_id(element: Element) -> str:
    """The element's id ("" when it has none); widget ids are "$$ID-<hash>-<user key>"."""
    _, proto = _kind_and_proto(element)
    return getattr(proto, "id", "")


def _walk(node: _Node) -> Iterator[_Node]:
    for child in node.children:
        yield child
        yield from _walk(child)


def _keeps_element(
    node: _Node, run_id: str, fragment_ids: tuple[str, ...], in_fragment: str
) -> bool:
    """Whether a finished run keeps this element or transient (frontend: visitElementNode)."""
    if node.element is not None and node.element.WhichOneof("type") == "toast":
        return True
    if fragment_ids and (not node.fragment_id or not in_fragment):
        return True  # a fragment run touches only what lies inside its fragments
    return node.run_id == run_id


def _prune(
    node: _Node, run_id: str, fragment_ids: tuple[str, ...], in_fragment: str = ""
) -> _Node | None:
    """``node`` without what the finished run ``run_id`` left stale; None to drop it.

    A full run (no ``fragment_ids``) keeps only what it wrote; a fragment run keeps everything
    outside its fragments' blocks and, inside them, what it wrote.
    """
    if node.block is None:
        if node.element is None and not node.transients:
            return None  # a cleared spinner that never had an element under it
        return node if _keeps_element(node, run_id, fragment_ids, in_fragment) else None
    if fragment_ids:
        if in_fragment and node.run_id != run_id:
            return None
        if node.fragment_id in fragment_ids and node.run_id == run_id:
            in_fragment = node.fragment_id
    elif node.run_id != run_id:
        return None
    # Children are pruned in place, so the block changes only where one is dropped.
    kept = [_prune(child, run_id, fragment_ids, in_fragment) for child in node.children]
    if any(child is None for child in kept):
        node.children = [child for child in kept if child is not None]
        node.run_id = run_id
    return node


def _container() -> _Node:
    """An empty root container (main, sidebar, event or bottom)."""
    return _Node("", block=Block(allow_empty=True))


class _ElementTree:
    """The page as the frontend's AppRoot holds it, addressed by delta path."""

    def __init__(self) -> None:
        self.root = _Node("", children=[_container() for _ in range(_ROOT_CONTAINERS)])

    def get(self, path: Sequence[int]) -> _Node | None:
        node = self.root
        for index in path:
            if index >= len(node.children):
                return None
            node = node.children[index]
        return node

    def set(self, path: Sequence[int], node: _Node, run_id: str) -> None:
        """Put ``node`` at ``path``; every block on the way counts as written by ``run_id``."""
        if not path:
            raise ProtocolError("delta without a path")
        parent = self.root
        for index in path[:-1]:
            parent.run_id = run_id
            if index >= len(parent.children) or parent.children[index].block is None:
                raise ProtocolError(f"delta path {list(path)} runs through a non-block")
            parent = parent.children[index]
        parent.run_id = run_id
        index = path[-1]
        if index < len(parent.children):
            parent.children[index] = node
        elif index == len(parent.children):
            parent.children.append(node)
        else:
            raise ProtocolError(f"delta path {list(path)} skips a slot")

    def prune(self, run_id: str, fragment_ids: tuple[str, ...]) -> None:
        """Drop what the finished run left stale; the root containers always stay."""
        self.root.children = [
            _prune(child, run_id, fragment_ids) or _container() for child in self.root.children
        ]

    def elements(self) -> Iterator[tuple[_Node, Element]]:
        """Element nodes in page order (main area first, then the sidebar)."""
        for node in _walk(self.root):
            if node.element is not None:
                yield node, node.element

    def active_ids(self) -> set[str]:
        """Ids of the drawn elements and keyed blocks (frontend: getActiveIds)."""
        ids = set()
        for node in _walk(self.root):
            if node.element is not None:
                ids.add(_element_id(node.element))
            elif node.block is not None and node.block.HasField("id"):
                ids.add(node.block.id)
        ids.discard("")
        return ids


# --- The ForwardMsg cache. -------------------------------------------------------------------


@dataclass(eq=False)
class _CacheEntry:
    msg: ForwardMsg
    run_count: int  # the cache's run count when the entry was last stored or used
    fragment_id: str


class _MessageCache:
    """The browser's ForwardMsg cache (frontend: ForwardMessageCache)."""

    def __init__(self) -> None:
        self._entries: dict[str, _CacheEntry] = {}
        self._run_count = 0

    def hashes(self) -> list[str]:
        return list(self._entries)

    def resolve(self, msg: ForwardMsg) -> ForwardMsg:
        """Cache ``msg`` if it is cacheable; for a ``ref_hash``, the message it stands for."""
        if msg.WhichOneof("type") == "ref_hash":
            entry = self._entries.get(msg.ref_hash)
            if entry is None:
                raise ProtocolError(f"cached ForwardMsg miss for hash {msg.ref_hash}")
            entry.run_count = self._run_count
            full = ForwardMsg()
            full.CopyFrom(entry.msg)
            full.metadata.CopyFrom(msg.metadata)  # the reference carries this use's delta path
            return full
        if msg.metadata.cacheable and msg.hash:
            entry = self._entries.get(msg.hash)
            if entry is None:
                self._entries[msg.hash] = _CacheEntry(msg, self._run_count, msg.delta.fragment_id)
            else:
                entry.run_count = self._run_count
        return msg

    def count_run(self, max_age: int, fragment_ids: Sequence[str]) -> None:
        """A run finished: expire entries unused for more than ``max_age`` runs.

        A fragment run ages only the entries of its own fragments, as in the frontend.
        """
        self._run_count += 1
        for digest, entry in list(self._entries.items()):
            if fragment_ids and entry.fragment_id not in fragment_ids:
                continue
            if self._run_count - entry.run_count > max_age:
                del self._entries[digest]


# --- The tab. --------------------------------------------------------------------------------


def _visit_page(base_url: str, query: str, page: str = "") -> str:
    """GET what a browser gets before its websocket; return the XSRF cookie ("" when off)."""
    # No proxies: the server is local, and a proxy from the environment would break that.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    cookie = ""
    first = f"/{page}" + (f"?{query}" if query else "")
    for path in (first, "/_stcore/health", "/_stcore/host-config"):
        request = urllib.request.Request(base_url + path)
        if cookie:
            request.add_header("Cookie", f"{XSRF_COOKIE}={cookie}")
        with opener.open(request, timeout=HTTP_TIMEOUT) as response:
            response.read()
            for header in response.headers.get_all("Set-Cookie") or []:
                jar = SimpleCookie()
                jar.load(header)
                if XSRF_COOKIE in jar:
                    cookie = jar[XSRF_COOKIE].value
    return cookie


class LightTab:
    """One browser tab on a Streamlit app, at the protocol level (asyncio; see the module doc).

    Create it with :meth:`open`. What it observed so far:

    Attributes:
        session_id: the server's id for this session.
        query_string: the query string the tab's address bar would show now.
        step_changes: ``(time.monotonic(), text)`` each time the "Step" metric showed a new text,
            its first appearance included.
        full_runs, fragment_runs: script runs started (one ``NewSession`` each).
        finished: script runs finished, by ``ScriptFinishedStatus`` name.
        auto_reruns_sent: fragment reruns the tab's timers requested.
        exceptions: the messages of exception elements the server drew.
        components: the ``data`` of each components-v2 element drawn last, by component name
            (the Playground's live panel: ``components["deqnet_live_panel"]["token"]``).
        error: why the tab stopped reading (a :class:`ProtocolError`, or an exception raised
            while handling a message), or None.
        closed: the websocket is closed.
    """

    def __init__(self, base_url: str, query: str = "", page: str = "") -> None:
        """Only state; :meth:`open` connects. ``query`` is a query string without "?";
        ``page`` the URL path of the page to open ("" for the default page)."""
        self.base_url = base_url.rstrip("/")
        self.query_string = query
        self.page = page
        self.session_id = ""
        self.step_changes: list[tuple[float, str]] = []
        self.full_runs = 0
        self.fragment_runs = 0
        self.finished: Counter[str] = Counter()
        self.auto_reruns_sent = 0
        self.exceptions: list[str] = []
        self.components: dict[str, dict] = {}
        self.error: Exception | None = None
        self.closed = False
        self._page_script_hash = ""
        self._tree = _ElementTree()
        self._widgets: dict[str, WidgetState] = {}  # insertion-ordered, like the frontend's Map
        self._cache = _MessageCache()
        self._max_cache_age = 0
        self._run_id = ""
        # The frontend ages its cache only for runs that started after its last rerun request.
        self._new_session_since_rerun = False
        self._timers: dict[str, tuple[float, asyncio.Task[None]]] = {}
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    @classmethod
    async def open(
        cls, base_url: str, query: str = "", *, page: str = "", timeout: float = 120.0
    ) -> LightTab:
        """Open the app's page ``page`` (a URL path; "" for the default page) with ``query``
        and wait for its first full run to end.

        Raises TimeoutError if it does not end within ``timeout`` seconds, RuntimeError if the
        script does not compile, ConnectionError if the server closes the websocket.
        """
        tab = cls(base_url, query, page)
        cookie = await asyncio.to_thread(_visit_page, tab.base_url, query, page)
        parts = urlsplit(tab.base_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        tab._ws = await connect(
            f"{scheme}://{parts.netloc}{parts.path}/_stcore/stream",
            subprotocols=["streamlit", cookie or "PLACEHOLDER_AUTH_TOKEN"],  # as the frontend
            origin=f"{parts.scheme}://{parts.netloc}",
            additional_headers={"Cookie": f"{XSRF_COOKIE}={cookie}"} if cookie else None,
            proxy=None,
            ping_interval=None,  # browsers only answer the server's pings
            max_size=None,  # a chart can be several MB
            open_timeout=timeout,
        )
        tab._reader = asyncio.create_task(tab._read())
        full, failed = _STATUS.Name(_FULL_RUN_DONE), _STATUS.Name(_COMPILE_ERROR)
        try:
            await tab._send_rerun()
            await tab.wait_for(lambda: tab.finished[full] + tab.finished[failed] > 0, timeout)
            if tab.finished[failed]:
                raise RuntimeError(f"{base_url}: the app script does not compile")
        except BaseException:
            await tab.close()  # a tab that never opened must not keep a session alive
            raise
        return tab

    async def __aenter__(self) -> LightTab:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    # --- Reading the page. -------------------------------------------------------------------

    def elements(self) -> list[Element]:
        """The elements drawn now, in page order (main area, then sidebar)."""
        return [element for _, element in self._tree.elements()]

    def metric(self, label: str) -> str | None:
        """The value text of the first ``st.metric`` labelled ``label``, or None."""
        for element in self.elements():
            if element.WhichOneof("type") == "metric" and element.metric.label == label:
                return element.metric.body
        return None

    def widget_id(self, key: str) -> str | None:
        """The element id of the drawn widget with user key ``key``, or None."""
        for element in self.elements():
            element_id = _element_id(element)
            if element_id and user_key_from_element_id(element_id) == key:
                return element_id
        return None

    @property
    def widget_states(self) -> list[WidgetState]:
        """The widget states the tab's next rerun request sends (besides a click's trigger)."""
        return list(self._widgets.values())

    async def wait_for(self, predicate: Callable[[], bool], timeout: float) -> None:
        """Return once ``predicate()`` holds, checked after every message from the server.

        Raises TimeoutError after ``timeout`` seconds, ConnectionError if the websocket closes
        first (``error`` says why when it was a protocol error).
        """
        deadline = time.monotonic() + timeout
        while not predicate():
            if self.closed:
                reason = repr(self.error) if self.error else "closed"
                raise ConnectionError(f"the tab's websocket is gone ({reason})") from self.error
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout} s")
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                continue  # the loop re-checks the predicate, then reports the timeout

    # --- Acting like the user. ---------------------------------------------------------------

    async def click(self, key: str) -> None:
        """Click the drawn button with user key ``key`` (send the rerun the browser sends).

        Raises LookupError if no such button is drawn, ValueError if it is disabled.
        """
        for node, element in self._tree.elements():
            kind, proto = _kind_and_proto(element)
            if kind in _TRIGGER_KINDS and user_key_from_element_id(proto.id) == key:
                if proto.disabled:
                    raise ValueError(f"button {key!r} is disabled")
                # A button in a fragment reruns only that fragment, as in the browser.
                trigger = WidgetState(id=proto.id, trigger_value=True)
                await self._send_rerun(fragment_id=node.fragment_id, trigger=trigger)
                return
        raise LookupError(f"no button with key {key!r} on the page")

    async def close(self) -> None:
        """Stop the timers and close the websocket (the server then ends the session)."""
        self._stop_timers()
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await self._reader

    # --- Protocol. ---------------------------------------------------------------------------

    async def _send_rerun(
        self, *, fragment_id: str = "", auto: bool = False, trigger: WidgetState | None = None
    ) -> None:
        """Send ``rerun_script`` with the query string, page, all widget states and cache."""
        if self._ws is None or self.closed:
            raise ConnectionError("the tab is not connected")
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query_string
        # The browser sends the page's path only before it knows the page's hash.
        state.page_script_hash = self._page_script_hash
        if not self._page_script_hash:
            state.page_name = self.page
        state.widget_states.widgets.extend(self._widgets.values())
        if trigger is not None:
            state.widget_states.widgets.append(trigger)
        state.fragment_id = fragment_id
        state.is_auto_rerun = auto
        state.cached_message_hashes.extend(self._cache.hashes())
        context = state.context_info
        context.timezone = "UTC"
        context.timezone_offset = 0
        context.locale = "en-US"
        context.url = f"{self.base_url}/{self.page}"  # the address without its query, as Chromium
        context.is_embedded = False
        context.color_scheme = "light"
        self._new_session_since_rerun = False
        await self._ws.send(msg.SerializeToString())

    async def _read(self) -> None:
        try:
            async for data in self._ws:
                self._handle(ForwardMsg.FromString(data))
                self._notify()
        except ConnectionClosed:
            pass  # closed by either side: nothing more to emulate
        except Exception as exc:  # a ProtocolError, or a bug here: either way the tab is broken
            self.error = exc
            await self._ws.close()
        finally:
            self.closed = True
            self._stop_timers()
            self._notify()

    def _notify(self) -> None:
        """Wake every :meth:`wait_for`; the next waiters wait on a fresh event."""
        self._changed.set()
        self._changed = asyncio.Event()

    def _handle(self, msg: ForwardMsg) -> None:
        msg = self._cache.resolve(msg)
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            self._on_new_session(msg)
        elif kind == "delta":
            self._on_delta(msg)
        elif kind == "script_finished":
            self._on_script_finished(msg)
        elif kind == "auto_rerun":
            self._start_timer(msg.auto_rerun.fragment_id, msg.auto_rerun.interval)
        elif kind == "stop_auto_rerun":
            for fragment_id in msg.stop_auto_rerun.fragment_ids:
                self._stop_timer(fragment_id)
        elif kind == "page_info_changed":
            self.query_string = msg.page_info_changed.query_string
        elif kind == "navigation":
            # With st.navigation the page shown is the one named here, not the main script
            # that NewSession names; the browser's next reruns ask for this page.
            self._page_script_hash = msg.navigation.page_script_hash

    def _on_new_session(self, msg: ForwardMsg) -> None:
        new_session = msg.new_session
        if new_session.initialize.session_id:
            self.session_id = new_session.initialize.session_id
        self._max_cache_age = new_session.config.max_cached_message_age
        self._run_id = msg.metadata.run.script_run_id
        self._new_session_since_rerun = True
        if msg.metadata.run.fragment_ids:
            self.fragment_runs += 1
        else:
            self.full_runs += 1
            self._page_script_hash = new_session.page_script_hash
            # The run re-sends auto_rerun for each fragment it still declares with run_every.
            self._stop_timers()

    def _on_delta(self, msg: ForwardMsg) -> None:
        delta, path = msg.delta, list(msg.metadata.delta_path)
        kind = delta.WhichOneof("type")
        if kind == "new_element":
            node = _Node(self._run_id, delta.fragment_id, element=delta.new_element)
            self._tree.set(path, node, self._run_id)
            self._on_element(delta.new_element)
        elif kind == "add_block":
            old, new = self._tree.get(path), delta.add_block
            children: list[_Node] = []
            # A redrawn container keeps its children (as in the frontend) unless its kind
            # changed or it is another dialog.
            if old is not None and old.block is not None:
                same_kind = old.block.WhichOneof("type") == new.WhichOneof("type")
                other_dialog = new.HasField("dialog") and old.block.id != new.id
                if same_kind and not other_dialog:
                    children = old.children
            node = _Node(self._run_id, delta.fragment_id, block=new, children=children)
            self._tree.set(path, node, self._run_id)
        elif kind == "new_transient":
            # A spinner is drawn over the element at its path; only where there is none yet
            # does it take a slot of its own, until an element replaces it.
            old = self._tree.get(path)
            if old is None or (old.element is None and old.block is None):
                count = len(delta.new_transient.elements)
                node = _Node(self._run_id, delta.fragment_id, transients=count)
                self._tree.set(path, node, self._run_id)

    def _on_element(self, element: Element) -> None:
        kind, proto = _kind_and_proto(element)
        if kind == "metric" and proto.label == STEP_LABEL:
            if not self.step_changes or self.step_changes[-1][1] != proto.body:
                self.step_changes.append((time.monotonic(), proto.body))
        elif kind == "exception":
            self.exceptions.append(proto.message)
        elif kind == "bidi_component" and proto.json:
            self.components[proto.component_name.rsplit(".", 1)[-1]] = json.loads(proto.json)
        value_of = _WIDGET_VALUES.get(kind)
        if value_of is None or not proto.id:
            return
        # Drawn for the first time: the widget stores its value; later only the server's
        # set_value changes it (this client never changes a widget itself).
        set_value = getattr(proto, "set_value", False)
        if proto.id not in self._widgets or set_value:
            self._widgets[proto.id] = value_of(proto, set_value)

    def _on_script_finished(self, msg: ForwardMsg) -> None:
        status, run = msg.script_finished, msg.metadata.run
        self.finished[_STATUS.Name(status)] += 1
        fragment_ids = tuple(run.fragment_ids)
        # A full run that a newer run already replaced leaves the page to the newer one.
        current = bool(fragment_ids) or run.script_run_id == self._run_id
        if status in (_FULL_RUN_DONE, _FRAGMENT_RUN_DONE) and current:
            self._tree.prune(run.script_run_id, fragment_ids)
            active = self._tree.active_ids()
            self._widgets = {wid: s for wid, s in self._widgets.items() if wid in active}
        if status != _EARLY_FOR_RERUN and self._new_session_since_rerun:
            self._cache.count_run(self._max_cache_age, fragment_ids)

    def _start_timer(self, fragment_id: str, interval: float) -> None:
        if not fragment_id:
            return  # the frontend ignores these too
        running = self._timers.get(fragment_id)
        if running is not None and running[0] == interval:
            return  # keep the running timer's phase, as the frontend does
        self._stop_timer(fragment_id)
        task = asyncio.create_task(self._tick(fragment_id, interval))
        self._timers[fragment_id] = (interval, task)

    async def _tick(self, fragment_id: str, interval: float) -> None:
        """Like setInterval: request a rerun of the fragment every ``interval`` seconds.

        The requests do not wait for runs to finish: the server coalesces them.
        """
        try:
            while True:
                await asyncio.sleep(interval)
                await self._send_rerun(fragment_id=fragment_id, auto=True)
                self.auto_reruns_sent += 1
        except (ConnectionClosed, ConnectionError):
            pass  # the tab is gone; _read stops the other timers

    def _stop_timer(self, fragment_id: str) -> None:
        timer = self._timers.pop(fragment_id, None)
        if timer is not None:
            timer[1].cancel()

    def _stop_timers(self) -> None:
        for fragment_id in list(self._timers):
            self._stop_timer(fragment_id)
