"""The client while `prompter serve` (a subprocess) is stopped and started again: stale prompts keep being served with
one warning, a cold start raises PrompterUnavailable or serves the fallback, a dumped cache starts offline."""

from __future__ import annotations

import asyncio
import logging

import pytest
from client_helpers import expire, wait_until
from client_live import ServerProcess, client_options, seed
from prompter_client import AsyncPrompter, Prompter, PrompterUnavailable, PromptNotFound

# Each test starts `prompter serve` (a few seconds) and stops and restarts it.
pytestmark = pytest.mark.slow


def test_server_stopped_stale_served_then_recovered(server_process: ServerProcess, caplog) -> None:
    url = server_process.url
    v1, v2 = seed(url, "greet", ["Hello {{ name }}!", "Hi {{ name }}!"])
    caplog.set_level(logging.INFO, logger="prompter_client")
    with Prompter(**client_options(url, retry_min_s=0.05, retry_max_s=0.2)) as p:
        assert p.get_prompt("greet").version.id == v1
        server_process.stop()
        expire(p)
        failed_refreshes = 0

        def served_through_failures() -> bool:
            nonlocal failed_refreshes
            assert p.get_prompt("greet").render(name="Ada") == "Hello Ada!"  # never an exception
            state = p._core.retry_state(next(iter(p.cache)))
            failed_refreshes = state[0] if state else 0
            return failed_refreshes >= 3

        wait_until(served_through_failures, what="three failed refreshes")
        warnings = [
            r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and r.name == "prompter_client"
        ]
        assert len(warnings) == 1 and "unavailable" in warnings[0] and url in warnings[0]

        server_process.start()
        p.set_label("greet", "production", v2)
        wait_until(lambda: p.get_prompt("greet").version.id == v2, what="the refresh after the restart")
        assert any("answers again" in r.getMessage() for r in caplog.records)
        assert len([r for r in caplog.records if r.levelno >= logging.WARNING and r.name == "prompter_client"]) == 1


def test_cold_start_with_the_server_down(server_process: ServerProcess, tmp_path) -> None:
    url = server_process.url
    seed(url, "greet", ["Hello {{ name }}!"])
    path = tmp_path / "prompts.json"
    with Prompter(**client_options(url)) as p:
        p.get_prompt("greet")
        p.cache.dump(path)
    server_process.stop()

    with Prompter(**client_options(url)) as p:
        with pytest.raises(PrompterUnavailable) as raised:
            p.get_prompt("greet")
        assert raised.value.status is None and "Connect" in raised.value.detail
        fallback = p.get_prompt("greet", fallback="Hey {{ name }}")
        assert fallback.is_fallback and fallback.render(name="Ada") == "Hey Ada"

    with Prompter(**client_options(url, cache_file=path)) as p:  # the deploy shipped the prompts it was tested with
        prompt = p.get_prompt("greet")
        assert prompt.body == "Hello {{ name }}!" and not prompt.is_fallback


async def test_async_client_through_an_outage(server_process: ServerProcess) -> None:
    url = server_process.url
    v1, v2 = seed(url, "greet", ["Hello {{ name }}!", "Hi {{ name }}!"])
    async with AsyncPrompter(**client_options(url, retry_min_s=0.05, retry_max_s=0.2)) as p:
        assert (await p.get_prompt("greet")).version.id == v1
        await asyncio.to_thread(server_process.stop)
        expire(p)
        for _ in range(20):
            assert (await p.get_prompt("greet")).version.id == v1
            await asyncio.sleep(0.02)
        with pytest.raises(PrompterUnavailable):
            await p.get_prompt("other")
        assert (await p.get_prompt("other", fallback="x")).is_fallback
        await asyncio.to_thread(server_process.start)
        await p.set_label("greet", "production", v2)
        async with asyncio.timeout(10):
            while (await p.get_prompt("greet")).version.id != v2:
                await asyncio.sleep(0.02)


def test_a_fallback_does_not_outlive_the_outage(server_process: ServerProcess) -> None:
    url = server_process.url
    server_process.stop()
    with Prompter(**client_options(url, retry_min_s=0.05, retry_max_s=0.2)) as p:
        assert p.get_prompt("greet", fallback="Hey {{ name }}").is_fallback  # Prompter down: the fallback
        server_process.start()  # back, and it has no prompt "greet": 404 label_not_found

        def gone() -> bool:
            try:
                assert p.get_prompt("greet", fallback="Hey {{ name }}").is_fallback  # until the refresh answers
            except PromptNotFound as exc:
                return exc.code == "template_not_found"
            return False

        wait_until(gone, what="the 404 to end the fallback")
