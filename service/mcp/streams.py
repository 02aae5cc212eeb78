"""The MCP sessions' standing streams (where list_changed goes: a session's GET stream, or a `subscriptions/listen`
response on the 2026-07-28 protocol), and their end when the process starts stopping.

uvicorn lets open responses finish before the app's shutdown runs, for up to PROMPTER_SHUTDOWN_DRAIN_S; a standing
stream never finishes by itself, so one connected MCP client would hold every rollout for that long. When draining
begins (SIGTERM, service/http/draining.py) each open stream is told its client went away - the SDK then ends the
response - and a new one is refused with 503 `shutting_down` and Retry-After. The session itself stays usable for
requests (POST) until the process stops; the client re-opens its stream elsewhere.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from service.http import draining

ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]
DISCONNECT = {"type": "http.disconnect"}
RETRY_AFTER_S = 2
REFUSED = json.dumps(
    {
        "error": "shutting_down",
        "detail": "This server is stopping: it opens no new MCP stream. Reconnect (another replica will answer).",
    }
).encode()


class StandingStreams:
    def __init__(self) -> None:
        self._stops: set[asyncio.Event] = set()
        self._closers: dict[object, Callable[[], None]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unregister: Callable[[], None] | None = None

    @property
    def open(self) -> int:
        return len(self._stops)

    def start(self) -> None:
        """Watch for draining (call on the event loop that serves the streams)."""
        self._loop = asyncio.get_running_loop()
        self._unregister = draining.on_begin(self._draining_began)

    def stop(self) -> None:
        if self._unregister is not None:
            self._unregister()
            self._unregister = None
        self.close_all()

    def add_closer(self, close: Callable[[], None]) -> Callable[[], None]:
        """Another kind of stream to end when draining begins (a `subscriptions/listen` response); returns the
        remove."""
        token = object()
        self._closers[token] = close

        def remove() -> None:
            self._closers.pop(token, None)

        return remove

    def close_all(self) -> None:
        for stop in list(self._stops):
            stop.set()
        for close in list(self._closers.values()):
            close()

    def _draining_began(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.close_all)

    async def serve(self, app: ASGIApp, scope: Any, receive: Any, send: Any) -> None:
        if draining.active():
            await _refuse(send)
            return
        stop = asyncio.Event()
        self._stops.add(stop)
        try:
            await app(scope, _until(stop, receive), send)
        finally:
            self._stops.discard(stop)


def _until(stop: asyncio.Event, receive: Any) -> Callable[[], Awaitable[Any]]:
    """`receive`, which answers `http.disconnect` once `stop` is set (a pending receive is cancelled)."""

    async def receive_or_stop() -> Any:
        if stop.is_set():
            return DISCONNECT
        message = asyncio.ensure_future(receive())
        stopped = asyncio.ensure_future(stop.wait())
        try:
            done, _ = await asyncio.wait({message, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if message in done:
            return message.result()
        message.cancel()
        return DISCONNECT

    return receive_or_stop


async def _refuse(send: Any) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"retry-after", str(RETRY_AFTER_S).encode()),
        (b"content-length", str(len(REFUSED)).encode()),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": REFUSED})
