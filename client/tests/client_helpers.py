"""Helpers for the client's unit tests: `FakePrompter` (the prompts API in memory, behind httpx.MockTransport), bounded
waits, and expiring cache entries without sleeping through a TTL."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import msgspec


def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0, what: str = "condition") -> None:
    """Poll a condition with a bounded wait (no test waits forever)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(0.005)


class FakePrompter:
    """`GET /api/prompts/{name}` with ETag / If-None-Match, and whatever failure a test switches on.

    `down = True` refuses connections, `status = 503` answers that status, `gate` (a threading.Event) holds every
    GET until it is set, `async_gate` (an asyncio.Event) the same for the async client. Every GET is logged."""

    def __init__(self) -> None:
        self.prompts: dict[tuple[str, str], str] = {}
        self.requests: list[httpx.Request] = []
        self.arrived = 0  # requests that reached the fake, including those still held at a gate
        self.down = False
        self.status: int | None = None
        self.error_headers: dict[str, str] = {}
        self.gate: threading.Event | None = None
        self.async_gate: asyncio.Event | None = None
        self._lock = threading.Lock()

    def set(self, name: str, body: str, label: str = "production") -> None:
        self.prompts[(name, label)] = body

    @property
    def gets(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == "GET"]

    def answer(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
        if self.down:
            raise httpx.ConnectError("Connection refused", request=request)
        if self.status is not None:
            body = {"error": f"status_{self.status}", "detail": "switched on by the test"}
            return httpx.Response(self.status, json=body, headers=self.error_headers)
        name = request.url.path.rsplit("/", 1)[1]
        label = request.url.params.get("label", "production")
        body = self.prompts.get((name, label))
        if body is None:
            return httpx.Response(404, json={"error": "label_not_found", "detail": f"No label {label!r} on {name!r}."})
        document = {"name": name, "label": label, "template_id": 1, "revision": 1, "body": body, "drift": False}
        document["variables"] = []
        document["version"] = {"id": 7, "provider": "openai", "model_id": "gpt-4o", "params": {}, "captured": {}}
        content = msgspec.json.encode(document)
        etag = '"' + hashlib.sha256(content).hexdigest()[:16] + '"'
        if request.headers.get("if-none-match") == etag:
            return httpx.Response(304, headers={"etag": etag})
        return httpx.Response(200, content=content, headers={"etag": etag, "content-type": "application/json"})

    def handler(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.arrived += 1
        if self.gate is not None:
            assert self.gate.wait(10), "test gate never opened"
        return self.answer(request)

    async def async_handler(self, request: httpx.Request) -> httpx.Response:
        self.arrived += 1
        if self.async_gate is not None:
            await asyncio.wait_for(self.async_gate.wait(), 10)
        return self.answer(request)


class OffsetClock:
    """A monotonic clock a test moves forward (`advance(s)`) instead of sleeping; real time still passes under it."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def expire(client: Any) -> None:
    """Make every cached entry stale now (instead of sleeping through a TTL)."""
    for key in client.cache:
        client.cache.entries[key].fresh_until = float("-inf")
