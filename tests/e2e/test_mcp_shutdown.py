"""A stopping replica and its MCP sessions: when draining begins (SIGTERM under `prompter serve`), the sessions'
standing streams end at once instead of holding the shutdown for PROMPTER_SHUTDOWN_DRAIN_S, a new stream is refused
with 503, requests are still served, and the process then stops in well under the graceful-shutdown limit."""

from __future__ import annotations

import time
from collections.abc import Iterator

import anyio
import httpx
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.client.subscriptions import listen
from mcp.shared.exceptions import MCPError

from service.http import draining
from tests.e2e.mcp_support import create, eventually, live_prompter, mcp_client, pin

GRACEFUL_S = 30.0


@pytest.fixture
def undrained() -> Iterator[None]:
    draining.reset()
    yield
    draining.reset()


async def test_draining_ends_the_standing_streams_and_the_server_stops_promptly(sqlite_url: str, undrained) -> None:
    url_query = "?org_id=acme&workspace_id=shop"
    with live_prompter(sqlite_url, graceful_s=GRACEFUL_S) as live:
        template = create(live.api, None, name="greet", body="Hi {{ who }}", org_id="acme", workspace_id="shop")
        pin(live.api, None, template["id"])
        mcp = live.app.state.runtime.mcp
        async with mcp_client(f"{live.base_url}/mcp{url_query}") as client:
            await eventually(lambda: mcp.streams.open == 1)
            draining.begin()  # what SIGTERM does under `prompter serve`
            await eventually(lambda: mcp.streams.open == 0)
            # The session still answers requests while the replica drains.
            assert [p.name for p in await client.all_prompts()] == ["greet@latest"]
            refused = httpx.get(
                f"{live.base_url}/mcp{url_query}",
                headers={"Accept": "text/event-stream", "mcp-session-id": client.session_id or ""},
            )
            assert refused.status_code == 503 and refused.json()["error"] == "shutting_down"
            assert refused.headers["retry-after"] == "2"
            started = time.monotonic()
            await anyio.to_thread.run_sync(live.server.stop)
            stopped_in = time.monotonic() - started
        assert stopped_in < 5, f"stopping took {stopped_in:.1f} s with an MCP client connected"


async def test_draining_closes_listen_streams_gracefully(sqlite_url: str, undrained) -> None:
    with live_prompter(sqlite_url, graceful_s=GRACEFUL_S) as live:
        url = f"{live.base_url}/mcp?org_id=acme&workspace_id=shop"
        async with streamable_http_client(url) as (read, write), ClientSession(read, write) as session:
            await session.discover()
            async with listen(session, prompts_list_changed=True) as subscription:
                draining.begin()
                with anyio.fail_after(10), pytest.raises(StopAsyncIteration):  # the server's graceful close
                    await subscription.__anext__()
            with pytest.raises(MCPError, match="stopping"):
                async with listen(session, prompts_list_changed=True):
                    pass
            started = time.monotonic()
            await anyio.to_thread.run_sync(live.server.stop)
            assert time.monotonic() - started < 5
