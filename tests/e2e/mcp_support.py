"""Helpers for the MCP tests: Prompter under a real uvicorn, the official SDK's client session over Streamable HTTP
(with the API key as Bearer header), and a record of the notifications each session received."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
import httpx2
import mcp_types as types
from litestar import Litestar
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from service.app import create_app
from service.providers import ProviderRegistry
from service.settings import Settings
from tests.support.live_server import LiveServer


@dataclass
class Live:
    base_url: str
    app: Litestar
    api: httpx.Client
    server: LiveServer


@contextmanager
def live_prompter(db_url: str, graceful_s: float = 5, **overrides: Any) -> Iterator[Live]:
    settings = Settings(db_url=db_url, db_auto_migrate=True, **overrides)
    app = create_app(settings, providers=ProviderRegistry.fakes())
    server = LiveServer(app, timeout_graceful_shutdown=graceful_s)
    with server as base_url, httpx.Client(base_url=base_url, timeout=30) as api:
        yield Live(base_url, app, api, server)


@dataclass
class McpClient:
    session: ClientSession
    list_changed: list[float] = field(default_factory=list)
    get_stream_open: anyio.Event = field(default_factory=anyio.Event)
    session_id: str | None = None

    async def wait_list_changed(self, count: int = 1, timeout_s: float = 10.0) -> None:
        with anyio.fail_after(timeout_s):
            while len(self.list_changed) < count:
                await anyio.sleep(0.01)

    async def all_prompts(self) -> list[types.Prompt]:
        prompts: list[types.Prompt] = []
        cursor: str | None = None
        while True:
            page = await self.session.list_prompts(params=types.PaginatedRequestParams(cursor=cursor))
            prompts.extend(page.prompts)
            cursor = page.next_cursor
            if cursor is None:
                return prompts


@asynccontextmanager
async def mcp_client(url: str, token: str | None = None) -> AsyncIterator[McpClient]:
    """An initialized SDK session; `get_stream_open` is set once the server answered the standing GET stream (the one
    list_changed notifications travel on)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    opened = anyio.Event()
    holder: dict[str, str | None] = {}

    async def on_response(response: httpx2.Response) -> None:
        if response.request.method == "GET" and response.status_code == 200:
            opened.set()
        holder.setdefault("session_id", response.headers.get("mcp-session-id"))

    received: list[float] = []

    async def on_message(message: Any) -> None:
        if isinstance(message, types.PromptListChangedNotification):
            received.append(time.monotonic())

    http = create_mcp_http_client(headers=headers)
    http.event_hooks["response"] = [on_response]
    async with (
        http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write, message_handler=on_message) as session,
    ):
        await session.initialize()
        client = McpClient(session, received, opened, holder.get("session_id"))
        with anyio.fail_after(10):
            await opened.wait()
        yield client


async def eventually(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    with anyio.fail_after(timeout_s):
        while not condition():
            await anyio.sleep(0.01)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def create(api: httpx.Client, token: str | None, **body: Any) -> dict[str, Any]:
    response = api.post("/api/prompt-templates", json=body, headers=bearer(token) if token else {})
    assert response.status_code == 201, response.text
    return response.json()


def pin(api: httpx.Client, token: str | None, template_id: int, **params: Any) -> int:
    body: dict[str, Any] = {"provider": "openai", "model_id": "gpt-4o"}
    if params:
        body["params"] = params
    response = api.post(
        f"/api/prompt-templates/{template_id}/ensure-version", json=body, headers=bearer(token) if token else {}
    )
    assert response.status_code in (200, 201), response.text
    return int(response.json()["id"])


def move(api: httpx.Client, token: str | None, name: str, label: str, version_id: int, **tenant: str) -> None:
    response = api.put(
        f"/api/prompts/{name}/labels/{label}",
        json={"version_id": version_id, **tenant},
        headers=bearer(token) if token else {},
    )
    assert response.status_code == 200, response.text
