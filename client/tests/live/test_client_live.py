"""The client against a live `prompter serve` (real HTTP, SQLite, the fake LLM): label moves and the TTL, the 304
path, single flight counted by the server itself, errors, runs through a label and the server's rendering."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest
from client_helpers import OffsetClock, expire, wait_until
from client_live import TENANT, client_options, resolve_requests, seed
from prompter_client import AsyncPrompter, Prompter, PromptNotFound


def test_a_moved_label_is_seen_after_the_ttl_and_not_before(live_url: str) -> None:
    v1, v2 = seed(live_url, "greet", ["Hello {{ name }}!", "Hi {{ name }}, welcome!"])
    clock = OffsetClock()
    with Prompter(**client_options(live_url, cache_ttl_s=60.0, clock=clock)) as p:
        assert p.get_prompt("greet").body == "Hello {{ name }}!"
        moved = p.set_label("greet", "production", v2, reason="roll out the friendlier greeting")
        assert moved.version_id == v2
        before = resolve_requests(live_url)
        for _ in range(50):  # within the TTL: the old prompt, from memory
            prompt = p.get_prompt("greet")
            assert prompt.body == "Hello {{ name }}!" and prompt.version.id == v1
        assert resolve_requests(live_url) == before
        clock.advance(61)  # past the TTL, without sleeping through it
        assert p.get_prompt("greet").version.id == v1  # stale-while-revalidate: the first call still gets the old one
        wait_until(lambda: p.get_prompt("greet").version.id == v2, what="the moved label to arrive")
        assert p.get_prompt("greet").body == "Hi {{ name }}, welcome!"
        assert resolve_requests(live_url) == before + 1  # one refresh did it


def test_an_unchanged_prompt_is_revalidated_with_a_304(live_url: str) -> None:
    seed(live_url, "greet", ["Hello {{ name }}!"])
    with Prompter(**client_options(live_url)) as p:
        first = p.get_prompt("greet")
        assert resolve_requests(live_url, "200") == 1 and resolve_requests(live_url, "304") == 0
        for round_ in range(1, 4):
            expire(p)
            assert p.get_prompt("greet") is first
            wait_until(lambda n=round_: resolve_requests(live_url, "304") == n, what="the revalidation")
        assert p.get_prompt("greet") is first  # a 304 keeps the cached object
        assert resolve_requests(live_url, "200") == 1


def test_unknown_label_or_name_is_prompt_not_found(live_url: str) -> None:
    seed(live_url, "greet", ["Hello {{ name }}!"])
    with Prompter(**client_options(live_url)) as p:
        with pytest.raises(PromptNotFound) as label:
            p.get_prompt("greet", label="staging", fallback="a fallback does not hide a 404")
        assert (label.value.status, label.value.code) == (404, "label_not_found")
        with pytest.raises(PromptNotFound) as name:
            p.get_prompt("nope")
        assert (name.value.status, name.value.code) == (404, "template_not_found")
        by_version = p.get_prompt("greet", version_id=p.get_prompt("greet").version.id)
        assert by_version.label is None and by_version.body == "Hello {{ name }}!"


def test_fifty_threads_on_a_stale_key_cause_one_server_request(live_url: str) -> None:
    seed(live_url, "greet", ["Hello {{ name }}!"])
    with Prompter(**client_options(live_url)) as p:
        p.get_prompt("greet")
        expire(p)
        before = resolve_requests(live_url)
        start = threading.Barrier(50)
        bodies: list[str] = []

        def call() -> None:
            start.wait(10)
            for _ in range(100):
                bodies.append(p.get_prompt("greet").body)

        threads = [threading.Thread(target=call) for _ in range(50)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert bodies == ["Hello {{ name }}!"] * 5000
        wait_until(lambda: resolve_requests(live_url) > before, what="the refresh to reach the server")
        time.sleep(0.2)  # a second refresh, if there were one, would have arrived by now
        assert resolve_requests(live_url) == before + 1


async def test_fifty_tasks_on_a_stale_key_cause_one_server_request(live_url: str) -> None:
    seed(live_url, "greet", ["Hello {{ name }}!"])
    async with AsyncPrompter(**client_options(live_url)) as p:
        await p.get_prompt("greet")
        expire(p)
        before = await asyncio.to_thread(resolve_requests, live_url)

        async def call() -> list[str]:
            bodies = []
            for _ in range(100):
                bodies.append((await p.get_prompt("greet")).body)
                await asyncio.sleep(0)
            return bodies

        results = await asyncio.gather(*(call() for _ in range(50)))
        assert all(bodies == ["Hello {{ name }}!"] * 100 for bodies in results)
        async with asyncio.timeout(10):
            while await asyncio.to_thread(resolve_requests, live_url) == before:
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        assert await asyncio.to_thread(resolve_requests, live_url) == before + 1


def test_a_dumped_cache_serves_a_new_client_with_the_same_prompts(live_url: str, tmp_path) -> None:
    seed(live_url, "greet", ["Hello {{ name }}!"])
    seed(live_url, "bye", ["Bye {{ name }}."])
    path = tmp_path / "prompts.json"
    with Prompter(**client_options(live_url)) as p:
        p.get_prompt("greet")
        p.get_prompt("bye")
        assert p.cache.dump(path) == 2
    before = resolve_requests(live_url)
    with Prompter(**client_options(live_url, cache_file=path)) as p:
        assert p.get_prompt("greet").body == "Hello {{ name }}!" and p.get_prompt("bye").body == "Bye {{ name }}."
        wait_until(lambda: resolve_requests(live_url, "304") == 2, what="both loaded entries revalidated")
    assert resolve_requests(live_url) == before + 2


def test_http_errors_are_typed(live_url: str) -> None:
    seed(live_url, "greet", ["Hello {{ name }}!"])
    with Prompter(**client_options(live_url)) as p:
        with pytest.raises(PromptNotFound):
            p.set_label("greet", "production", 999_999)
    with httpx.Client(base_url=live_url) as http:  # what the client parsed is what the server sent
        assert http.get("/api/prompts/greet", params={**TENANT, "label": "nope"}).json()["error"] == "label_not_found"


def test_a_deleted_label_stops_being_served_after_one_revalidation(live_url: str) -> None:
    seed(live_url, "greet", ["Hello {{ name }}!"])
    with Prompter(**client_options(live_url)) as p:
        assert p.get_prompt("greet").body == "Hello {{ name }}!"
        with httpx.Client(base_url=live_url) as http:
            assert http.delete("/api/prompts/greet/labels/production", params=TENANT).status_code == 204
        expire(p)
        assert p.get_prompt("greet").body == "Hello {{ name }}!"  # stale: served while the revalidation asks
        wait_until(lambda: len(p.cache) == 0, what="the revalidation's 404 to evict the entry")
        with pytest.raises(PromptNotFound) as raised:
            p.get_prompt("greet")
        assert raised.value.code == "label_not_found"
