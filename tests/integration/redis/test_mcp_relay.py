"""list_changed across replicas: with REDIS_URL set, a label moved through one replica reaches the MCP sessions held by
another (Redis pub/sub, service/cache/prompt_relay.py), and a replica does not tell its own sessions twice."""

from __future__ import annotations

from tests.e2e.mcp_support import create, eventually, live_prompter, mcp_client, move, pin

TENANT = {"org_id": "acme", "workspace_id": "shop"}
QUERY = "?org_id=acme&workspace_id=shop"


async def test_a_change_through_one_replica_reaches_the_sessions_of_another(sqlite_url: str, redis_url: str) -> None:
    with (
        live_prompter(sqlite_url, redis_url=redis_url) as one,
        live_prompter(sqlite_url, redis_url=redis_url) as two,
    ):
        template = create(one.api, None, name="greet", body="Hi {{ who }}", **TENANT)
        v1 = pin(one.api, None, template["id"])
        for replica in (one, two):
            relay = replica.app.state.runtime.prompt_feed.relay
            assert relay is not None
            await eventually(lambda r=relay: r.__self__.subscribed.is_set())
        async with mcp_client(f"{one.base_url}/mcp{QUERY}") as here, mcp_client(f"{two.base_url}/mcp{QUERY}") as there:
            await eventually(lambda: two.app.state.runtime.prompt_feed.subscribers("acme", "shop") == 1)
            await eventually(lambda: one.app.state.runtime.prompt_feed.subscribers("acme", "shop") == 1)
            move(one.api, None, "greet", "production", v1, **TENANT)  # through replica one
            await there.wait_list_changed(1)  # a session held by replica two
            await here.wait_list_changed(1)
            move(one.api, None, "greet", "staging", v1, **TENANT)
            await there.wait_list_changed(2)
            await here.wait_list_changed(2)
            # Replica two heard both through Redis, so replica one has had the echo of the first: it was skipped.
            assert len(here.list_changed) == 2
            listed = await there.all_prompts()
            assert sorted(p.name for p in listed) == ["greet", "greet@staging"]
