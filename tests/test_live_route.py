"""The live stream's websocket route against a real ``streamlit run app.py`` server.

Each test opens a session as a browser tab would (``LightTab``), reads its stream token from the
live panel's data, and talks to ``/_deq/live`` with the ``websockets`` package. The server logs
its training rounds (``DEQNET_TRAIN_LOG``), which shows when it trains and when it stops.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets
from browser.conftest import new_train_log, running_app
from light_client import LightTab
from websockets.exceptions import ConnectionClosed, InvalidStatus

from deqnet.live import decode_frame

LINK = "budget=5000&n=128"  # a budget no test exhausts
PANEL = "deqnet_live_panel"


@pytest.fixture(scope="module")
def train_log() -> Path:
    return new_train_log("route-train")


@pytest.fixture(scope="module")
def server(train_log: Path) -> Iterator[str]:
    with running_app({"DEQNET_TRAIN_LOG": str(train_log)}) as url:
        yield url


def _socket(base: str, token: str, *, origin: str | None = None, **options):
    return websockets.connect(
        base.replace("http://", "ws://") + "/_deq/live",
        subprotocols=["deqnet.v1", token],
        origin=base if origin is None else origin,
        **options,
    )


async def _tab(base: str) -> tuple[LightTab, str]:
    tab = await LightTab.open(base, LINK)
    await tab.wait_for(lambda: PANEL in tab.components, 120)
    return tab, tab.components[PANEL]["token"]


def _rounds(log: Path, after: float) -> list[float]:
    """End times of the training rounds logged after ``after`` (time.time())."""
    times = [float(line.split(",")[0]) for line in log.read_text().splitlines()]
    return [t for t in times if t > after]


def _server_rss_kb(base: str) -> int:
    port = base.rsplit(":", 1)[1]
    for pid in Path("/proc").iterdir():
        if not pid.name.isdigit():
            continue
        try:
            command = (pid / "cmdline").read_bytes().split(b"\0")
            status = (pid / "status").read_text()
        except OSError:
            continue
        if b"streamlit" in b" ".join(command) and port.encode() in command:
            return int(next(line.split()[1] for line in status.splitlines() if "VmRSS" in line))
    raise AssertionError("server process not found")


def test_a_page_on_another_site_cannot_open_the_stream(server: str) -> None:
    async def main() -> None:
        async with (await _tab(server))[0] as tab:
            token = tab.components[PANEL]["token"]
            for origin in ("http://evil.example", "http://127.0.0.1:1"):
                with pytest.raises(InvalidStatus) as refused:
                    async with _socket(server, token, origin=origin):
                        pass
                assert refused.value.response.status_code == 403
            # No Origin at all (not a browser page) is refused too.
            with pytest.raises(InvalidStatus):
                async with websockets.connect(
                    server.replace("http://", "ws://") + "/_deq/live",
                    subprotocols=["deqnet.v1", token],
                ):
                    pass

    asyncio.run(main())


def test_an_unknown_token_is_closed_and_a_known_one_gets_frames(server: str) -> None:
    async def main() -> None:
        async with _socket(server, "x" * 43) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10)
            assert closed.value.rcvd.code == 4401
        async with (await _tab(server))[0] as tab:
            async with _socket(server, tab.components[PANEL]["token"]) as ws:
                header, _ = decode_frame(await asyncio.wait_for(ws.recv(), 10))
                assert header["step"] == 0 and header["running"] is False

    asyncio.run(main())


def test_a_message_over_1_kb_closes_the_socket(server: str) -> None:
    async def main() -> None:
        tab, token = await _tab(server)
        async with tab, _socket(server, token) as ws:
            await ws.send('{"visible": true}')  # a small command is fine
            await ws.send("é" * 600)  # 600 characters, 1200 bytes
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(ws.recv(), 10)
            assert closed.value.rcvd.code == 1009
        tab, token = await _tab(server)
        async with tab, _socket(server, token) as ws:
            await ws.send(b"\0" * 1025)  # binary counts too
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(ws.recv(), 10)
            assert closed.value.rcvd.code == 1009

    asyncio.run(main())


def test_a_second_socket_for_a_token_is_refused_and_the_first_goes_on(server: str) -> None:
    async def main() -> None:
        tab, token = await _tab(server)
        async with tab, _socket(server, token) as first:
            await asyncio.wait_for(first.recv(), 10)
            async with _socket(server, token) as second:
                with pytest.raises(ConnectionClosed) as closed:
                    await asyncio.wait_for(second.recv(), 10)
                assert closed.value.rcvd.code == 4409
            await tab.click("pg_train")
            header, _ = decode_frame(await asyncio.wait_for(first.recv(), 30))
            while header["step"] < 3:
                header, _ = decode_frame(await asyncio.wait_for(first.recv(), 30))

    asyncio.run(main())


def test_closing_the_socket_stops_training_within_a_second(server: str, train_log: Path) -> None:
    async def main() -> float:
        tab, token = await _tab(server)
        async with tab:
            async with _socket(server, token) as ws:
                await tab.click("pg_train")
                step = 0
                while step < 20:
                    header, _ = decode_frame(await asyncio.wait_for(ws.recv(), 30))
                    step = header["step"]
            closed = time.time()
            await asyncio.sleep(3)
            return closed

    closed = asyncio.run(main())
    assert _rounds(train_log, closed - 60), "the server never trained this session"
    late = _rounds(train_log, closed + 1.0)
    assert not late, f"{len(late)} training rounds more than 1 s after the socket closed"


def test_a_reader_that_stops_reading_leaves_memory_flat_and_loses_no_record(
    server: str, train_log: Path
) -> None:
    """The trainer goes on while the reader stalls, and the server queues no frames for it.

    To offer more than the socket buffers hold (loopback absorbs megabytes), the stalled reader
    asks for the whole history again 200 times a second: queued, those frames would grow the
    server by tens of MB; coalesced in the mailbox (newest wins), it stays flat. Reading
    again, the reader gets every record.
    """

    async def main() -> None:
        tab, token = await _tab(server)
        async with tab, _socket(server, token, max_queue=1, max_size=2**24) as ws:
            await tab.click("pg_train")
            header, _ = decode_frame(await asyncio.wait_for(ws.recv(), 30))
            while header["step"] < 300:  # a history worth resending
                header, _ = decode_frame(await asyncio.wait_for(ws.recv(), 30))
            rss_before = _server_rss_kb(server)
            stalled, asked = time.time(), 0
            while time.time() < stalled + 6:  # not reading
                await ws.send('{"resend": true}')
                asked += 1
                await asyncio.sleep(0.005)
            rss_after = _server_rss_kb(server)
            trained = len(_rounds(train_log, stalled))
            await ws.send('{"visible": false}')  # stop training, then drain what is there
            frames = []
            while True:
                try:
                    frames.append(decode_frame(await asyncio.wait_for(ws.recv(), 2)))
                except TimeoutError:
                    break
        offered = asked + trained
        # The history as the browser rebuilds it, from the first full resend on (the frames
        # before it continue the records this reader had before the stall).
        first = next(i for i, (header, _) in enumerate(frames) if header["curves"]["reset"])
        steps: list[int] = []
        for header, arrays in frames[first:]:
            start = 0 if header["curves"]["reset"] else header["curves"]["from"]
            assert start <= len(steps), "a frame skipped records"
            steps[start:] = [int(s) for s in arrays.get("curve_step", ())]
        assert trained > 100, "the trainer should go on while a reader stalls"
        assert steps == list(range(1, frames[-1][0]["step"] + 1)), "a record was lost"
        assert len(frames) < offered / 2, f"{len(frames)} frames of {offered} were queued"
        assert rss_after - rss_before < 10_000, "the server grew while the reader stalled"

    asyncio.run(main())
