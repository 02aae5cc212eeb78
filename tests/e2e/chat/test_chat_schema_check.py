"""Structured output is checked: a model that starts breaking the response schema shows as `schema_valid: false` and
in prompter_response_schema_violations_total{provider}, while a valid answer counts nothing."""

from __future__ import annotations

import dataclasses
from typing import Any

from service.providers import ProviderRegistry
from service.providers.base import PROVIDERS, Completion, CompletionRequest
from service.providers.fake import FakeProvider
from tests.e2e.chat.support import RESPONSE_FORMAT, TENANT


class SchemaBreaker(FakeProvider):
    """The fake LLM, answering with JSON that misses a required field while `broken` is set."""

    broken = False

    async def complete(self, request: CompletionRequest) -> Completion:
        completion = await super().complete(request)
        if self.broken:
            return dataclasses.replace(completion, text='{"answer": 42}')
        return completion


def _violations(client: Any, provider: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("prompter_response_schema_violations_total") and f'provider="{provider}"' in line:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError("prompter_response_schema_violations_total has no series for " + provider)


def test_schema_violations_are_flagged_and_counted(make_client: Any) -> None:
    breaker = SchemaBreaker("anthropic")
    registry = ProviderRegistry({name: breaker if name == "anthropic" else FakeProvider(name) for name in PROVIDERS})
    client = make_client(app_kwargs={"providers": registry})
    tid = client.post("/api/prompt-templates", json={"name": "json", "body": "Answer {{ q }}", **TENANT}).json()["id"]
    run = {"provider": "anthropic", "model_id": "claude", "variables": {"q": "x"}, "response_format": RESPONSE_FORMAT}
    assert _violations(client, "anthropic") == 0  # the series exists from the start

    good = client.post(f"/api/prompt-templates/{tid}/run", json=run)
    assert good.status_code == 201, good.text
    assert good.json()["schema_valid"] is True and _violations(client, "anthropic") == 0

    breaker.broken = True
    bad = client.post(f"/api/prompt-templates/{tid}/run", json=run)
    assert bad.status_code == 201, bad.text
    assert bad.json()["schema_valid"] is False
    assert bad.json()["structured_output"] == {"answer": 42}  # what came back is stored all the same
    assert _violations(client, "anthropic") == 1
    assert _violations(client, "openai") == 0

    text = client.post(f"/api/prompt-templates/{tid}/run", json={**run, "response_format": None})
    assert text.json()["schema_valid"] is None and text.json()["structured_output"] is None
