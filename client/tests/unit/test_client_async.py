"""`AsyncPrompter` follows the same rules as `Prompter` (one core): single flight across tasks, outage, fallback."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest
from client_helpers import FakePrompter, OffsetClock, expire
from prompter_client import AsyncPrompter, PrompterUnavailable, PromptNotFound


def async_prompter(fake: FakePrompter, **options: Any) -> AsyncPrompter:
    options.setdefault("org_id", "acme")
    options.setdefault("workspace_id", "support")
    return AsyncPrompter("http://prompter.test", transport=httpx.MockTransport(fake.async_handler), **options)


async def until(condition: Any, what: str, timeout_s: float = 10.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.005)


async def test_fifty_tasks_on_one_stale_key_make_one_refresh(fake: FakePrompter) -> None:
    fake.set("greet", "v1")
    async with async_prompter(fake) as p:
        await p.get_prompt("greet")
        fake.set("greet", "v2")
        expire(p)
        fake.async_gate = asyncio.Event()

        async def call() -> list[str]:
            bodies = []
            for _ in range(20):
                bodies.append((await p.get_prompt("greet")).body)
                await asyncio.sleep(0)  # let the refresh task run in between
            return bodies

        results = await asyncio.gather(*(call() for _ in range(50)))
        assert [b for bodies in results for b in bodies] == ["v1"] * 1000
        assert fake.arrived == 2  # the refresh reached the server and is held there
        fake.async_gate.set()
        await until(lambda: p.cache.get(next(iter(p.cache))).fresh_until > 0, "the refresh")
        assert (await p.get_prompt("greet")).body == "v2"
        assert len(fake.gets) == 2


async def test_concurrent_first_fetches_share_one_request(fake: FakePrompter) -> None:
    fake.set("greet", "v1")
    fake.async_gate = asyncio.Event()
    async with async_prompter(fake) as p:
        calls = [asyncio.create_task(p.get_prompt("greet")) for _ in range(20)]
        await until(lambda: fake.arrived == 1, "the leader's request")
        fake.async_gate.set()
        prompts = await asyncio.gather(*calls)
        assert {prompt.body for prompt in prompts} == {"v1"} and len(fake.gets) == 1


async def test_a_cancelled_leader_does_not_strand_its_waiters(fake: FakePrompter) -> None:
    fake.set("greet", "v1")
    fake.async_gate = asyncio.Event()
    async with async_prompter(fake) as p:
        leader = asyncio.create_task(p.get_prompt("greet"))
        await until(lambda: fake.arrived == 1, "the leader's request")
        waiter = asyncio.create_task(p.get_prompt("greet", fallback="fallback text"))
        await asyncio.sleep(0.01)
        leader.cancel()
        with pytest.raises(asyncio.CancelledError):
            await leader
        prompt = await asyncio.wait_for(waiter, 5)
        assert prompt.is_fallback and prompt.body == "fallback text"
        fake.async_gate.set()


async def test_outage_stale_served_cold_raises_or_falls_back(fake: FakePrompter, caplog) -> None:
    fake.set("greet", "cached")
    caplog.set_level(logging.WARNING, logger="prompter_client")
    async with async_prompter(fake, retry_min_s=0.01, retry_max_s=0.01) as p:
        await p.get_prompt("greet")
        fake.down = True
        expire(p)
        for _ in range(20):
            assert (await p.get_prompt("greet")).body == "cached"
            await asyncio.sleep(0.01)
        with pytest.raises(PrompterUnavailable):
            await p.get_prompt("other")
        fallback = await p.get_prompt("other", fallback="Hi {{ name }}")
        assert fallback.is_fallback and fallback.render(name="Ada") == "Hi Ada"
    assert len(fake.gets) > 3  # several refreshes failed...
    assert (
        len([r for r in caplog.records if r.levelno == logging.WARNING and r.name == "prompter_client"]) == 1
    )  # ...and one warning said so


async def test_not_found(fake: FakePrompter) -> None:
    async with async_prompter(fake) as p:
        with pytest.raises(PromptNotFound):
            await p.get_prompt("greet", label="staging")


async def test_aclose_cancels_a_hanging_refresh(fake: FakePrompter) -> None:
    fake.set("greet", "v1")
    p = async_prompter(fake)
    await p.get_prompt("greet")
    expire(p)
    fake.async_gate = asyncio.Event()  # never set: the refresh hangs at the server
    await p.get_prompt("greet")
    await until(lambda: fake.arrived == 2, "the refresh")
    await asyncio.wait_for(p.aclose(), 5)
    assert not p._tasks


async def test_the_injected_clock_decides_freshness(fake: FakePrompter) -> None:
    clock = OffsetClock()
    fake.set("greet", "v1")
    async with async_prompter(fake, cache_ttl_s=60, clock=clock) as p:
        await p.get_prompt("greet")
        fake.set("greet", "v2")
        clock.advance(59)
        assert (await p.get_prompt("greet")).body == "v1" and len(fake.gets) == 1
        clock.advance(2)
        assert (await p.get_prompt("greet")).body == "v1"
        await until(lambda: len(fake.gets) == 2 and not p._tasks, "the refresh the injected clock started")
        assert (await p.get_prompt("greet")).body == "v2"
