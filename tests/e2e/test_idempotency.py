"""Idempotency-Key over real HTTP, on SQLite and on PostgreSQL: a retried create or run answers the first answer
without a second row or a second LLM call; a reused key with another request is refused; concurrent duplicates leave
one row; keys belong to a tenant and expire after 24 hours; errors are not stored."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text, update

from service.db.engine import create_engine
from service.db.models import IdempotencyKey, utcnow
from service.providers import ProviderRegistry
from service.providers.base import Completion, CompletionRequest
from service.providers.fake import FakeProvider
from service.settings import Settings
from tests.e2e.labels_support import TENANT, create_template, live_api, pin
from tests.e2e.test_auth import bearer, make_key

RUN = {"provider": "openai", "model_id": "gpt-4o", "variables": {"who": "Ada"}}


class CountingProvider(FakeProvider):
    """The fake LLM, counting completions; optionally slow (so concurrent requests overlap) or failing the first N."""

    def __init__(self, name: str, delay_s: float = 0.0, fail_first: int = 0) -> None:
        super().__init__(name)
        self.delay_s, self.fail_first, self.calls = delay_s, fail_first, 0
        self._lock = threading.Lock()

    async def complete(self, request: CompletionRequest) -> Completion:
        with self._lock:
            self.calls += 1
            failing = self.calls <= self.fail_first
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if failing:
            from service.http.errors import ProviderError

            raise ProviderError("the provider failed (test)", code="provider_error")
        return await super().complete(request)


def registry(openai: CountingProvider) -> ProviderRegistry:
    return ProviderRegistry(
        {"openai": openai, "anthropic": FakeProvider("anthropic"), "google": FakeProvider("google")}
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    return request.getfixturevalue("pg_url") if request.param == "postgresql" else sqlite_url


def results_of(api: httpx.Client, template_id: int, headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    response = api.get(f"/api/prompt-templates/{template_id}/results", params={"limit": 200}, headers=headers or {})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def key(value: str, **more: str) -> dict[str, str]:
    return {"Idempotency-Key": value, **more}


def test_a_retried_run_answers_the_first_answer_without_a_second_call_or_row(db_url: str) -> None:
    openai = CountingProvider("openai")
    with live_api(db_url, registry(openai)) as api:
        template = create_template(api, "greet", "Hello {{ who }}", **TENANT)
        path = f"/api/prompt-templates/{template['id']}/run"
        first = api.post(path, json=RUN, headers=key("run-1"))
        again = api.post(path, json=RUN, headers=key("run-1"))
        assert first.status_code == again.status_code == 201, (first.text, again.text)
        assert again.json() == first.json() and "idempotent-replayed" not in first.headers
        assert again.headers["idempotent-replayed"] == "true"
        assert openai.calls == 1 and [r["id"] for r in results_of(api, template["id"])] == [first.json()["id"]]
        # Another key, or none, is another run.
        assert api.post(path, json=RUN, headers=key("run-2")).json()["id"] != first.json()["id"]
        assert api.post(path, json=RUN).status_code == 201
        assert openai.calls == 3 and len(results_of(api, template["id"])) == 3


def test_a_retried_create_answers_201_again_not_409(db_url: str) -> None:
    with live_api(db_url) as api:
        body = {"name": "greet", "body": "Hello {{ who }}", **TENANT}
        first = api.post("/api/prompt-templates", json=body, headers=key("create-1"))
        again = api.post("/api/prompt-templates", json=body, headers=key("create-1"))
        assert (first.status_code, again.status_code) == (201, 201) and again.json() == first.json()
        assert api.post("/api/prompt-templates", json=body).status_code == 409  # without a key: the duplicate rule
        listed = api.get("/api/prompt-templates", params={**TENANT, "name": "greet"}).json()["items"]
        assert [t["id"] for t in listed] == [first.json()["id"]]


def test_a_key_reused_for_another_request_is_refused(db_url: str) -> None:
    openai = CountingProvider("openai")
    with live_api(db_url, registry(openai)) as api:
        one = create_template(api, "one", "Hello {{ who }}", **TENANT)
        two = create_template(api, "two", "Bye {{ who }}", **TENANT)
        assert api.post(f"/api/prompt-templates/{one['id']}/run", json=RUN, headers=key("k")).status_code == 201
        other_body = {**RUN, "variables": {"who": "Grace"}}
        for path, body in [
            (f"/api/prompt-templates/{one['id']}/run", other_body),  # another body
            (f"/api/prompt-templates/{two['id']}/run", RUN),  # another path
            ("/api/prompt-templates", {"name": "three", "body": "x", **TENANT}),  # another endpoint
        ]:
            response = api.post(path, json=body, headers=key("k"))
            assert response.status_code == 422, response.text
            assert response.json()["error"] == "idempotency_key_reused"
        assert openai.calls == 1 and results_of(api, two["id"]) == []


def test_keys_are_checked_before_use(db_url: str) -> None:
    with live_api(db_url) as api:
        template = create_template(api, "greet", "Hello {{ who }}", **TENANT)
        path = f"/api/prompt-templates/{template['id']}/run"
        for bad in ("x" * 201, "tab\tinside", "é"):
            response = api.post(path, json=RUN, headers={"Idempotency-Key": bad.encode()})
            assert response.status_code == 400, (bad, response.text)
        assert api.post(path, json=RUN, headers=key("y" * 200)).status_code == 201
        assert len(results_of(api, template["id"])) == 1


def test_errors_are_not_stored_so_a_retry_runs_again(db_url: str) -> None:
    openai = CountingProvider("openai", fail_first=1)
    with live_api(db_url, registry(openai)) as api:
        template = create_template(api, "greet", "Hello {{ who }}", **TENANT)
        path = f"/api/prompt-templates/{template['id']}/run"
        assert api.post(path, json=RUN, headers=key("flaky")).status_code == 502
        ok = api.post(path, json=RUN, headers=key("flaky"))
        assert ok.status_code == 201 and "idempotent-replayed" not in ok.headers
        assert api.post(path, json=RUN, headers=key("flaky")).json() == ok.json()
        assert openai.calls == 2 and len(results_of(api, template["id"])) == 1


def test_concurrent_duplicates_leave_one_row_and_one_answer(db_url: str) -> None:
    # The LLM takes 0.3 s, so all 10 requests are past the "already answered?" check before the first one commits:
    # each calls the LLM, and the database keeps exactly one result.
    openai = CountingProvider("openai", delay_s=0.3)
    with live_api(db_url, registry(openai), db_pool_size=12) as api:
        template = create_template(api, "greet", "Hello {{ who }}", **TENANT)
        path = f"/api/prompt-templates/{template['id']}/run"
        create_body = {"name": "raced", "body": "Race {{ who }}", **TENANT}

        async def burst() -> tuple[list[httpx.Response], list[httpx.Response]]:
            async with httpx.AsyncClient(base_url=str(api.base_url), timeout=60) as client:
                runs = [client.post(path, json=RUN, headers=key("same-run")) for _ in range(10)]
                creates = [
                    client.post("/api/prompt-templates", json=create_body, headers=key("same-create"))
                    for _ in range(10)
                ]
                answers = await asyncio.gather(*runs, *creates)
                return list(answers[:10]), list(answers[10:])

        runs, creates = asyncio.run(burst())
        for answers in (runs, creates):
            assert [r.status_code for r in answers] == [201] * 10, [r.text for r in answers if r.status_code != 201]
            assert len({r.json()["id"] for r in answers}) == 1
        assert [r["id"] for r in results_of(api, template["id"])] == [runs[0].json()["id"]]
        listed = api.get("/api/prompt-templates", params={**TENANT, "name": "raced"}).json()["items"]
        assert [t["id"] for t in listed] == [creates[0].json()["id"]]
        assert sum(r.headers.get("idempotent-replayed") == "true" for r in runs) == 9


def test_keys_belong_to_a_tenant(db_url: str) -> None:
    with live_api(db_url, auth="required") as api:
        a = bearer(make_key(db_url, "org-a", "ws-a", "write"))
        b = bearer(make_key(db_url, "org-b", "ws-b", "write"))
        body = {"name": "greet", "body": "Hello {{ who }}"}
        first_a = api.post("/api/prompt-templates", json=body, headers={**a, **key("shared")})
        first_b = api.post("/api/prompt-templates", json=body, headers={**b, **key("shared")})
        assert (first_a.status_code, first_b.status_code) == (201, 201)
        assert first_a.json()["org_id"] == "org-a" and first_b.json()["org_id"] == "org-b"
        assert api.post("/api/prompt-templates", json=body, headers={**a, **key("shared")}).json() == first_a.json()


def test_keys_expire_after_24_hours(db_url: str) -> None:
    openai = CountingProvider("openai")
    with live_api(db_url, registry(openai)) as api:
        template = create_template(api, "greet", "Hello {{ who }}", **TENANT)
        path = f"/api/prompt-templates/{template['id']}/run"
        first = api.post(path, json=RUN, headers=key("old")).json()
        api.post(path, json=RUN, headers=key("another-old"))
        _age_keys(db_url, hours=23)
        assert api.post(path, json=RUN, headers=key("old")).json() == first  # still kept
        _age_keys(db_url, hours=25)
        later = api.post(path, json=RUN, headers=key("old"))
        assert later.status_code == 201 and later.json()["id"] != first["id"]
        assert openai.calls == 3
        # The expired record made way for the new one, and the other expired one was swept with it.
        assert _count_keys(db_url) == 1


def test_a_label_run_honours_the_key(db_url: str) -> None:
    openai = CountingProvider("openai")
    with live_api(db_url, registry(openai)) as api:
        template = create_template(api, "greet", "Hello {{ who }}", **TENANT)
        version = pin(api, template["id"])
        moved = api.put("/api/prompts/greet/labels/staging", json={"version_id": version["id"], **TENANT})
        assert moved.status_code == 200, moved.text
        body = {"variables": {"who": "Ada"}, **TENANT}
        first = api.post("/api/prompts/greet/run", params={"label": "staging"}, json=body, headers=key("label-run"))
        again = api.post("/api/prompts/greet/run", params={"label": "staging"}, json=body, headers=key("label-run"))
        assert first.status_code == again.status_code == 201, first.text
        assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
        other_label = api.post("/api/prompts/greet/run", json=body, headers=key("label-run"))  # another query
        assert other_label.status_code == 422 and other_label.json()["error"] == "idempotency_key_reused"
        assert openai.calls == 1 and len(results_of(api, template["id"])) == 1


def _age_keys(db_url: str, *, hours: float) -> None:
    async def run() -> None:
        engine = create_engine(Settings(db_url=db_url))
        try:
            async with engine.begin() as conn:
                # Through the model's column type, so SQLite and PostgreSQL store the timestamp as the app does.
                await conn.execute(update(IdempotencyKey).values(created_at=utcnow() - timedelta(hours=hours)))
        finally:
            await engine.dispose()

    asyncio.run(run())


def _count_keys(db_url: str) -> int:
    async def run() -> int:
        engine = create_engine(Settings(db_url=db_url))
        try:
            async with engine.connect() as conn:
                return (await conn.execute(text("SELECT count(*) FROM idempotency_keys"))).scalar_one()
        finally:
            await engine.dispose()

    return asyncio.run(run())
