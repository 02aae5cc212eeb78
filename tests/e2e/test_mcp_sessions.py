"""MCP sessions over real HTTP: many at once all hear a change, an idle session is closed (and unsubscribed) after
PROMPTER_MCP_SESSION_IDLE_S, and PROMPTER_MCP_MAX_SESSIONS bounds how many are open."""

from __future__ import annotations

import time
from contextlib import AsyncExitStack

import httpx

from tests.e2e.mcp_support import McpClient, create, eventually, live_prompter, mcp_client, move, pin

TENANT = {"org_id": "acme", "workspace_id": "shop"}
QUERY = "?org_id=acme&workspace_id=shop"
ACCEPT = {"Accept": "application/json, text/event-stream"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}},
}


async def test_twenty_concurrent_sessions_all_hear_one_label_move(sqlite_url: str) -> None:
    with live_prompter(sqlite_url) as live:
        template = create(live.api, None, name="greet", body="Hi {{ who }}", **TENANT)
        version_id = pin(live.api, None, template["id"])
        feed = live.app.state.runtime.prompt_feed
        async with AsyncExitStack() as stack:
            clients: list[McpClient] = [
                await stack.enter_async_context(mcp_client(f"{live.base_url}/mcp{QUERY}")) for _ in range(20)
            ]
            await eventually(lambda: feed.subscribers("acme", "shop") == 20)
            started = time.monotonic()
            move(live.api, None, "greet", "production", version_id, **TENANT)
            for client in clients:
                await client.wait_list_changed(1)
            assert all(len(client.list_changed) == 1 for client in clients)
            assert max(client.list_changed[0] for client in clients) - started < 5
        await eventually(lambda: feed.subscribers("acme", "shop") == 0)


async def test_an_idle_session_is_closed_and_unsubscribed(sqlite_url: str) -> None:
    with live_prompter(sqlite_url, mcp_session_idle_s=0.5) as live:
        feed = live.app.state.runtime.prompt_feed
        url = f"{live.base_url}/mcp{QUERY}"
        opened = httpx.post(url, json=INITIALIZE, headers=ACCEPT)
        assert opened.status_code == 200, opened.text
        session = {**ACCEPT, "mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"}
        initialized = httpx.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=session)
        assert initialized.status_code == 202, initialized.text
        await eventually(lambda: feed.subscribers("acme", "shop") == 1)
        # No request and no open stream: the session is closed after the idle time, its subscription with it.
        await eventually(lambda: feed.subscribers("acme", "shop") == 0)
        gone = httpx.post(url, json={"jsonrpc": "2.0", "id": 2, "method": "prompts/list"}, headers=session)
        assert gone.status_code == 404


async def test_sessions_beyond_the_limit_are_refused_with_503(sqlite_url: str) -> None:
    with live_prompter(sqlite_url, mcp_max_sessions=1) as live:
        url = f"{live.base_url}/mcp{QUERY}"
        async with mcp_client(url):
            refused = httpx.post(url, json=INITIALIZE, headers=ACCEPT)
            assert refused.status_code == 503, refused.text
        # The first session ended (the client deleted it): there is room again.
        await eventually(lambda: httpx.post(url, json=INITIALIZE, headers=ACCEPT).status_code == 200)
