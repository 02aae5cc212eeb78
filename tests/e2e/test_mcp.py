"""The MCP server at /mcp, tested with the official SDK's client over real HTTP against a live uvicorn: prompts/list
(one entry per label, paginated), prompts/get (text and chat, arguments, errors), the API's keys and tenants, and
`notifications/prompts/list_changed` after changes made through the REST API - on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator

import anyio
import httpx
import mcp_types as types
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.client.subscriptions import PromptsListChanged, listen
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from tests.e2e.mcp_support import Live, bearer, create, eventually, live_prompter, mcp_client, move, pin
from tests.reliability.live import metric_total
from tests.support.keys import make_key

A = ("org-a", "ws-a")
B = ("org-b", "ws-b")

CHAT = {
    "name": "capitals",
    "type": "chat",
    "description": "Capital cities",
    "messages": [
        {"role": "system", "content": "You are {{ persona }}."},
        {"role": "user", "content": "Capital of France?"},
        {"role": "assistant", "content": "Paris"},
        {"type": "placeholder", "name": "history"},
        {"role": "user", "content": "{{ question }} (answer in {{ words }} words)"},
    ],
    "input_schema": {
        "type": "object",
        "properties": {
            "persona": {"type": "string"},
            "question": {"type": "string", "description": "What to ask"},
            "words": {"type": "integer"},
        },
        "required": ["persona", "question", "words"],
    },
}


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    return sqlite_url if request.param == "sqlite" else request.getfixturevalue("pg_url")


@pytest.fixture
def world(db_url: str) -> Iterator[tuple[Live, dict[tuple[str, str], str]]]:
    """Workspace A: `greet` (text) labelled production and staging, `capitals` (chat) pinned but unlabelled, `draft`
    without any version. Keys: read and admin for A and B, ingest for A."""
    with live_prompter(db_url, auth="required") as live:
        keys = {
            (t, role): make_key(db_url, *tenant, role)
            for t, tenant in (("a", A), ("b", B))
            for role in ("read", "admin")
        }
        keys["a", "ingest"] = make_key(db_url, *A, "ingest")
        admin = keys["a", "admin"]
        greet = create(live.api, admin, name="greet", body="Hello {{ who }} from {{ team }}!")
        v1 = pin(live.api, admin, greet["id"])
        move(live.api, admin, "greet", "production", v1)
        move(live.api, admin, "greet", "staging", v1)
        chat = create(live.api, admin, **CHAT)
        pin(live.api, admin, chat["id"])
        create(live.api, admin, name="draft", body="Not pinned yet")
        yield live, keys


async def test_prompts_list_and_get_text_and_chat(world) -> None:
    live, keys = world
    async with mcp_client(f"{live.base_url}/mcp", keys["a", "read"]) as client:
        assert client.session.server_capabilities.prompts.list_changed is True
        prompts = {p.name: p for p in await client.all_prompts()}
        assert sorted(prompts) == ["capitals@latest", "greet", "greet@staging"]  # draft: no version, not listed
        assert [(a.name, a.required) for a in prompts["greet"].arguments] == [("who", True), ("team", True)]
        chat_args = {a.name: a for a in prompts["capitals@latest"].arguments}
        assert list(chat_args) == ["persona", "question", "words", "history"]
        assert chat_args["history"].required is False and chat_args["question"].description == "What to ask"
        assert "JSON integer" in chat_args["words"].description
        assert prompts["capitals@latest"].description.startswith("Capital cities")

        text = await client.session.get_prompt("greet", {"who": "Ann", "team": "Ops"})
        assert [(m.role, m.content.text) for m in text.messages] == [("user", "Hello Ann from Ops!")]
        staged = await client.session.get_prompt("greet@staging", {"who": "Bo", "team": "QA"})
        assert staged.messages[0].content.text == "Hello Bo from QA!"

        history = json.dumps([{"role": "user", "content": "And Italy?"}, {"role": "assistant", "content": "Rome"}])
        chat = await client.session.get_prompt(
            "capitals@latest",
            {"persona": "a geographer", "question": "Capital of Japan?", "words": "3", "history": history},
        )
        assert [(m.role, m.content.text) for m in chat.messages] == [
            ("user", "You are a geographer."),
            ("user", "Capital of France?"),
            ("assistant", "Paris"),
            ("user", "And Italy?"),
            ("assistant", "Rome"),
            ("user", "Capital of Japan? (answer in 3 words)"),
        ]
        assert chat.messages[0].content.meta == {"prompter/role": "system"}  # MCP has no system role
        assert chat.messages[1].content.meta is None


async def test_prompts_get_errors_are_mcp_errors_with_clear_messages(world) -> None:
    live, keys = world
    async with mcp_client(f"{live.base_url}/mcp", keys["a", "read"]) as client:
        get = client.session.get_prompt
        with pytest.raises(MCPError) as missing:
            await get("greet", {"who": "Ann"})
        assert missing.value.code == types.INVALID_PARAMS
        assert "Missing arguments" in missing.value.message and "team" in missing.value.message
        assert missing.value.data["error"] == "missing_variables"

        with pytest.raises(MCPError) as unknown:
            await get("nope", {})
        assert unknown.value.code == types.INVALID_PARAMS and "No prompt 'nope'" in unknown.value.message

        with pytest.raises(MCPError) as no_label:
            await get("capitals", {})  # no production label yet
        assert no_label.value.data["error"] == "label_not_found" and "capitals@latest" in no_label.value.message

        with pytest.raises(MCPError) as extra:
            await get("greet", {"who": "A", "team": "B", "colour": "red"})
        assert extra.value.data["error"] == "unknown_arguments" and "colour" in extra.value.message

        with pytest.raises(MCPError) as typed:
            await get("capitals@latest", {"persona": "p", "question": "Capital?", "words": "three"})
        assert typed.value.data["error"] == "invalid_variables" and "words" in typed.value.message

        with pytest.raises(MCPError) as cursor:
            await client.session.list_prompts(params=types.PaginatedRequestParams(cursor="not a cursor"))
        assert cursor.value.data["error"] == "invalid_cursor"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_prompts_list_is_paginated_with_the_mcp_cursor(world) -> None:
    live, keys = world
    admin = keys["a", "admin"]
    for index in range(52):
        template = create(live.api, admin, name=f"p{index:03d}", body=f"Prompt {index} for {{{{ x }}}}")
        pin(live.api, admin, template["id"])
    async with mcp_client(f"{live.base_url}/mcp", keys["a", "read"]) as client:
        first = await client.session.list_prompts()
        assert first.next_cursor is not None
        second = await client.session.list_prompts(params=types.PaginatedRequestParams(cursor=first.next_cursor))
        assert second.next_cursor is None
        names = [p.name for p in first.prompts + second.prompts]
        assert len(names) == len(set(names)) == 52 + 3
        assert set(names) >= {"greet", "greet@staging", "capitals@latest", "p000@latest", "p051@latest"}


def test_no_key_or_a_bad_key_is_the_apis_401_and_an_ingest_key_its_403(world) -> None:
    live, keys = world
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    accept = {"Accept": "application/json, text/event-stream"}
    for headers in ({}, {"Authorization": "Bearer pk_nope_nope"}, {"Authorization": "Basic abc"}):
        response = httpx.post(f"{live.base_url}/mcp", json=initialize, headers={**accept, **headers})
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "unauthorized" and response.json()["detail"]
        assert response.headers["www-authenticate"].startswith("Bearer")
    ingest = httpx.post(f"{live.base_url}/mcp", json=initialize, headers={**accept, **bearer(keys["a", "ingest"])})
    assert ingest.status_code == 403 and ingest.json()["error"] == "forbidden_role"


async def test_the_sdk_client_without_a_key_fails_to_connect(world) -> None:
    live, _ = world
    with pytest.raises(BaseException):  # noqa: B017 - the SDK surfaces the 401 as an error of its own making
        async with mcp_client(f"{live.base_url}/mcp"):
            pass


async def test_a_key_of_another_workspace_sees_nothing(world) -> None:
    live, keys = world
    async with mcp_client(f"{live.base_url}/mcp", keys["b", "read"]) as other:
        assert await other.all_prompts() == []
        with pytest.raises(MCPError) as refused:
            await other.session.get_prompt("greet", {"who": "x", "team": "y"})
        assert "No prompt 'greet'" in refused.value.message
    # A session belongs to the key that opened it: another key cannot use its id.
    async with mcp_client(f"{live.base_url}/mcp", keys["a", "read"]) as own:
        hijack = httpx.post(
            f"{live.base_url}/mcp",
            json={"jsonrpc": "2.0", "id": 7, "method": "prompts/list", "params": {}},
            headers={
                **bearer(keys["b", "read"]),
                "Accept": "application/json, text/event-stream",
                "mcp-session-id": own.session_id or "",
                "mcp-protocol-version": own.session.protocol_version or "",
            },
        )
        assert hijack.status_code == 404, hijack.text


async def test_list_changed_reaches_every_session_of_the_workspace_and_only_those(world) -> None:
    live, keys = world
    admin_a, admin_b = keys["a", "admin"], keys["b", "admin"]
    url = f"{live.base_url}/mcp"
    async with (
        mcp_client(url, keys["a", "read"]) as first,
        mcp_client(url, keys["a", "read"]) as second,
        mcp_client(url, keys["b", "read"]) as other,
    ):
        feed = live.app.state.runtime.prompt_feed
        # Each session subscribes when the server has handled its `notifications/initialized`.
        await eventually(lambda: feed.subscribers(*A) == 2 and feed.subscribers(*B) == 1)
        # A label move through the REST API.
        greet = (await first.session.get_prompt("greet", {"who": "a", "team": "b"})).meta["prompter/version_id"]
        template = create(live.api, admin_a, name="greet", body="Hi {{ who }}!")
        await first.wait_list_changed(1)  # a new revision: created
        v2 = pin(live.api, admin_a, template["id"])
        await first.wait_list_changed(2)  # a new version: `latest` may have moved
        move(live.api, admin_a, "greet", "production", v2)
        await first.wait_list_changed(3)
        await second.wait_list_changed(3)
        moved = await first.session.get_prompt("greet", {"who": "Ann"})
        assert moved.messages[0].content.text == "Hi Ann!" and moved.meta["prompter/version_id"] == v2 != greet
        # Rollback and delete are changes too.
        assert (
            live.api.post("/api/prompts/greet/labels/production/rollback", json={}, headers=bearer(admin_a)).status_code
            == 200
        )
        await first.wait_list_changed(4)
        assert live.api.delete("/api/prompts/greet/labels/staging", headers=bearer(admin_a)).status_code == 204
        await second.wait_list_changed(5)
        # Workspace B heard none of it: its first notification is its own change (they go out in commit order).
        assert other.list_changed == []
        create(live.api, admin_b, name="theirs", body="B's prompt")
        await other.wait_list_changed(1)
        assert len(other.list_changed) == 1 and len(first.list_changed) == 5
    # Every session unsubscribed when it ended.
    await eventually(lambda: feed.subscribers(*A) == 0 and feed.subscribers(*B) == 0)


async def test_with_auth_off_the_tenant_comes_from_the_url_like_the_api(sqlite_url: str) -> None:
    with live_prompter(sqlite_url) as live:
        template = create(live.api, None, name="greet", body="Hello {{ who }}", org_id="acme", workspace_id="shop")
        version_id = pin(live.api, None, template["id"])
        refused = httpx.post(f"{live.base_url}/mcp", json={}, headers={"Accept": "application/json, text/event-stream"})
        assert refused.status_code == 422 and refused.json()["error"] == "missing_tenant"
        async with mcp_client(f"{live.base_url}/mcp?org_id=acme&workspace_id=shop") as client:
            assert [p.name for p in await client.all_prompts()] == ["greet@latest"]
            rendered = await client.session.get_prompt("greet@latest", {"who": "Ann"})
            assert rendered.messages[0].content.text == "Hello Ann"
            await eventually(lambda: live.app.state.runtime.prompt_feed.subscribers("acme", "shop") == 1)
            move(live.api, None, "greet", "production", version_id, org_id="acme", workspace_id="shop")
            await client.wait_list_changed(1)
            assert [p.name for p in await client.all_prompts()] == ["greet"]
        async with mcp_client(f"{live.base_url}/mcp?org_id=acme&workspace_id=other") as elsewhere:
            assert await elsewhere.all_prompts() == []


async def test_a_prompt_whose_name_contains_an_at_sign_is_got_by_its_name(sqlite_url: str) -> None:
    tenant = {"org_id": "acme", "workspace_id": "shop"}
    with live_prompter(sqlite_url) as live:
        mail = create(live.api, None, name="mail@home", body="Mail {{ who }}", **tenant)
        move(live.api, None, "mail@home", "production", pin(live.api, None, mail["id"]), **tenant)
        async with mcp_client(f"{live.base_url}/mcp?org_id=acme&workspace_id=shop") as client:
            assert [p.name for p in await client.all_prompts()] == ["mail@home"]
            got = await client.session.get_prompt("mail@home", {"who": "Ann"})  # no prompt `mail`: a name, not a label
            assert got.messages[0].content.text == "Mail Ann"
            latest = await client.session.get_prompt("mail@home@latest", {"who": "Bo"})
            assert latest.messages[0].content.text == "Mail Bo"


async def test_a_2026_client_gets_list_changed_on_its_listen_stream(sqlite_url: str) -> None:
    """The 2026-07-28 protocol has no session GET stream: the client opens `subscriptions/listen`."""
    with live_prompter(sqlite_url) as live:
        template = create(live.api, None, name="greet", body="Hello {{ who }}", org_id="acme", workspace_id="shop")
        version_id = pin(live.api, None, template["id"])
        feed = live.app.state.runtime.prompt_feed
        url = f"{live.base_url}/mcp?org_id=acme&workspace_id=shop"
        async with streamable_http_client(url) as (read, write), ClientSession(read, write) as session:
            discovered = await session.discover()
            assert session.protocol_version in MODERN_PROTOCOL_VERSIONS
            assert discovered.capabilities.prompts.list_changed is True
            assert [p.name for p in (await session.list_prompts()).prompts] == ["greet@latest"]
            async with listen(session, prompts_list_changed=True) as subscription:
                assert feed.subscribers("acme", "shop") == 1
                move(live.api, None, "greet", "production", version_id, org_id="acme", workspace_id="shop")
                with anyio.fail_after(10):
                    event = await subscription.__anext__()
                assert isinstance(event, PromptsListChanged)
            assert [p.name for p in (await session.list_prompts()).prompts] == ["greet"]
            await eventually(lambda: feed.subscribers("acme", "shop") == 0)


def test_the_openapi_document_does_not_list_the_mcp_mount(client) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]
    assert paths and not [path for path in paths if path.startswith("/mcp")]


def test_prompter_mcp_off_removes_the_endpoint(make_client) -> None:
    off = make_client(mcp="off")
    response = off.post("/mcp?org_id=a&workspace_id=b", json={})
    assert response.status_code == 404 and response.json()["error"] == "not_found"


async def test_standing_streams_are_counted_but_kept_out_of_the_latency_histogram(sqlite_url: str) -> None:
    """A GET stream lasts as long as the client stays: as a latency it would trip the p95 objective of /mcp."""
    with live_prompter(sqlite_url) as live:
        async with mcp_client(f"{live.base_url}/mcp?org_id=acme&workspace_id=shop") as client:
            await client.all_prompts()

        def sample(name: str, method: str) -> float:
            return metric_total(live.api.get("/metrics").text, name, method=method, route="/mcp")

        await eventually(lambda: sample("starlette_requests_total", "GET") >= 1)  # the stream ended with the session
        assert sample("starlette_requests_processing_seconds_count", "GET") == 0
        assert sample("starlette_requests_processing_seconds_count", "POST") >= 3  # initialize, initialized, list
