"""Runs through a label (`POST /api/prompts/{name}/run`) from the client: the server renders what the client renders,
and the missing-variable error is the same on both sides."""

from __future__ import annotations

import pytest
from client_live import client_options, seed
from prompter_client import AsyncPrompter, MissingVariables, Prompter, PrompterError


def test_run_through_the_label_renders_as_the_client_does(live_url: str) -> None:
    body = "Hi {{ name }} from {{ team }}: {{ flags }} {{ n }} {{ name }} {{ raw }}"
    seed(live_url, "greet", [body])
    variables = {"name": "Zoë", "team": "Prompter", "flags": {"a": [1, True, None]}, "n": 2.5, "raw": "{{ team }}"}
    with Prompter(**client_options(live_url)) as p:
        prompt = p.get_prompt("greet")
        result = p.run("greet", label="production", variables=variables)
        assert result.rendered_prompt == prompt.render(variables)
        assert result.version_id == prompt.version.id and result.output
        assert (result.label, result.identity_matches_label) == ("production", True)
        with pytest.raises(MissingVariables) as server:
            p.run("greet", variables={"name": "Ada"})
        with pytest.raises(MissingVariables) as local:
            prompt.render(name="Ada")
        assert (server.value.status, server.value.code) == (422, "missing_variables")
        assert (local.value.detail, local.value.missing) == (server.value.detail, server.value.missing)


async def test_async_run_and_label_move(live_url: str) -> None:
    v1, v2 = seed(live_url, "greet", ["Hello {{ name }}!", "Hi {{ name }}!"])
    async with AsyncPrompter(**client_options(live_url)) as p:
        first = await p.run("greet", variables={"name": "Ada"})
        assert (first.rendered_prompt, first.version_id) == ("Hello Ada!", v1)
        assert (await p.set_label("greet", "production", v2)).version_id == v2
        second = await p.run("greet", variables={"name": "Ada"})  # runs are never cached: the move applies at once
        assert (second.rendered_prompt, second.version_id) == ("Hi Ada!", v2)


def test_a_run_retried_with_its_idempotency_key_is_not_run_twice(live_url: str) -> None:
    seed(live_url, "greet", ["Hello {{ name }}!"])
    with Prompter(**client_options(live_url)) as p:
        first = p.run("greet", variables={"name": "Ada"}, idempotency_key="checkout-42")
        retry = p.run("greet", variables={"name": "Ada"}, idempotency_key="checkout-42")
        assert (first.replayed, retry.replayed) == (False, True)
        assert retry.id == first.id and retry.output == first.output
        with pytest.raises(PrompterError) as reused:
            p.run("greet", variables={"name": "Grace"}, idempotency_key="checkout-42")
        assert (reused.value.status, reused.value.code) == (422, "idempotency_key_reused")
        assert p.run("greet", variables={"name": "Ada"}).id == first.id + 1  # without a key: a new run
