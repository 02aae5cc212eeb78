"""Rollout policies end to end, on SQLite and PostgreSQL, with the rollout worker of the app's lifespan: a 10 % canary
whose calls fail (the fake LLM refuses the canary's model) is aborted and rolled back within one analysis interval;
the same canary healthy promotes itself step by step to 100 %; every step is in the label history."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from service.errors import ProviderError
from service.providers import ProviderRegistry
from service.providers.base import PROVIDERS, Completion, CompletionRequest, GenerationParams
from service.providers.fake import FakeProvider
from tests.e2e.chat.support import RESPONSE_FORMAT
from tests.e2e.labels_support import TENANT, create_template, in_process_api, pin

INTERVAL_S = 1.0
TICK_S = 0.05
CANARY_MODEL = "gpt-4o-mini"


class RefusesModel(FakeProvider):
    """The fake LLM, failing every call to one model: errors injected into the canary arm."""

    def __init__(self, failing: str | None) -> None:
        super().__init__("openai")
        self.failing = failing

    async def complete(self, request: CompletionRequest) -> Completion:
        if request.model_id == self.failing:
            raise ProviderError(f"openai answered HTTP 500 for {request.model_id}")
        return await super().complete(request)

    async def probe(self, model_id: str, params: GenerationParams) -> Completion:
        return await super().probe(model_id, params)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, migrated_sqlite_url: str) -> str:
    return migrated_sqlite_url if request.param == "sqlite" else request.getfixturevalue("migrated_pg_url")


@pytest.fixture
def api(db_url: str) -> Iterator[httpx.Client]:
    with in_process_api(db_url, rollout_min_interval_s=0.1, rollout_tick_s=TICK_S) as client:
        yield client


def history(api: httpx.Client, label: str = "production") -> list[dict[str, Any]]:
    answer = api.get(f"/api/prompts/greet/labels/{label}/history", params={**TENANT, "limit": 50})
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def wait_for(
    condition: Callable[[], Any],
    what: str,
    timeout_s: float = 60.0,
    between: Callable[[], None] | None = None,
    explain: Callable[[], Any] | None = None,
) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        if between is not None:
            between()
        else:
            time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}: {explain() if explain else ''}")


class Application:
    """An application using the split label as the docs say: resolve with the user's key, call the LLM itself
    (the fake), report each call as an observation (latency, or the error)."""

    def __init__(self, api: httpx.Client, llm: RefusesModel) -> None:
        self.api, self.llm, self.batch = api, llm, 0
        self.calls: dict[int, int] = {}

    def serve(self, users: int = 120) -> None:
        self.batch += 1
        items = []
        for n in range(users):
            key = f"user-{self.batch}-{n}"
            prompt = self.api.get("/api/prompts/greet", params={**TENANT, "label": "production", "key": key}).json()
            version = prompt["version"]
            self.calls[version["id"]] = self.calls.get(version["id"], 0) + 1
            request = CompletionRequest(version["model_id"], prompt["body"], GenerationParams())
            item: dict[str, Any] = {
                "id": f"{key}-call",
                "prompt": "greet",
                "label": "production",
                "version_id": version["id"],
                "provider": "openai",
            }
            started = time.perf_counter()
            try:
                import asyncio

                completion = asyncio.run(self.llm.complete(request))
                item["latency_ms"] = (time.perf_counter() - started) * 1000 + 50
                item["reported"] = {
                    "system_fingerprint": completion.system_fingerprint,
                    "model": completion.response_model,
                }
            except ProviderError:
                item["error"] = "server_error"
            items.append(item)
        answer = self.api.post("/api/observations", json={**TENANT, "items": items})
        assert answer.status_code == 200 and answer.json()["rejected"] == 0, answer.text


def start_canary(api: httpx.Client, **policy: Any) -> tuple[int, int]:
    v1 = pin(api, create_template(api, "greet", "Hello {{ who }}", **TENANT)["id"])["id"]
    v2 = pin(api, create_template(api, "greet", "Hi {{ who }}!", **TENANT)["id"], model_id=CANARY_MODEL)["id"]
    assert api.put("/api/prompts/greet/labels/production", json={**TENANT, "version_id": v1}).status_code == 200
    body = {
        **TENANT,
        "split": [{"version_id": v1, "weight": 90}, {"version_id": v2, "weight": 10}],
        "policy": {"steps": [10, 50, 100], "min_calls": 5, "interval_s": INTERVAL_S, **policy},
        "reason": "canary v2",
    }
    answer = api.put("/api/prompts/greet/labels/production", json=body)
    assert answer.status_code == 200, answer.text
    return v1, v2


def test_a_failing_canary_is_aborted_and_rolled_back_within_one_interval(api: httpx.Client) -> None:
    v1, v2 = start_canary(api, min_seconds=3600)
    app = Application(api, RefusesModel(failing=CANARY_MODEL))
    app.serve()
    served = time.monotonic()
    assert app.calls[v2] >= 5, app.calls  # about 10 % of 120 users got the canary
    aborted = wait_for(lambda: [e for e in history(api) if e["kind"] == "abort"], "the abort", timeout_s=30)
    assert time.monotonic() - served <= INTERVAL_S + 1.0  # one interval (plus a tick and a loaded CI's slack)

    events = history(api)
    assert [e["kind"] for e in events[:4]] == ["rollback", "abort", "split", "move"]
    rollback, abort = events[0], events[1]
    assert (rollback["from_version_id"], rollback["to_version_id"], rollback["split"]) == (v1, v1, None)
    assert rollback["actor"] == abort["actor"] == "rollout" and "rollout aborted" in rollback["reason"]
    numbers = aborted[0]["details"]
    assert "error rate" in numbers["reason"] and numbers["canary"]["errors"] == numbers["canary"]["calls"] >= 5
    assert numbers["baseline"]["errors"] == 0 and numbers["baseline"]["calls"] > numbers["canary"]["calls"]

    resolved = api.get("/api/prompts/greet", params={**TENANT, "label": "production", "key": "anyone"}).json()
    assert resolved["version"]["id"] == v1 and "split" not in resolved
    state = api.get("/api/prompts/greet/labels/production/rollout", params=TENANT).json()
    assert state["status"] == "aborted" and state["last_decision"]["action"] == "abort"
    assert [e["kind"] for e in history(api)][:2] == ["rollback", "abort"]


def test_runs_through_a_failing_canary_abort_it(db_url: str) -> None:
    """The same canary run through Prompter itself (POST /api/prompts/{name}/run with the user's key): the server's
    fake LLM refuses the canary's model, each failed run is kept as an error of its arm, and the policy aborts."""
    registry = ProviderRegistry({**{p: FakeProvider(p) for p in PROVIDERS}, "openai": RefusesModel(CANARY_MODEL)})
    with in_process_api(db_url, registry, rollout_min_interval_s=0.1, rollout_tick_s=TICK_S) as api:
        v1, v2 = start_canary(api, min_seconds=3600)
        statuses: dict[int, int] = {}
        for n in range(120):
            run = api.post("/api/prompts/greet/run", json={**TENANT, "variables": {"who": "Ada"}, "key": f"u{n}"})
            statuses[run.status_code] = statuses.get(run.status_code, 0) + 1
        served = time.monotonic()
        assert statuses.get(502, 0) >= 5 and statuses.get(201, 0) > statuses[502], statuses
        wait_for(lambda: [e for e in history(api) if e["kind"] == "abort"], "the abort", timeout_s=30)
        assert time.monotonic() - served <= INTERVAL_S + 1.0
        abort = [e for e in history(api) if e["kind"] == "abort"][0]
        # The worker may act while the users are still arriving: it counted what had failed by then, at least min_calls.
        canary, baseline = abort["details"]["canary"], abort["details"]["baseline"]
        assert 5 <= canary["errors"] == canary["calls"] <= statuses[502]
        assert 0 < baseline["calls"] <= statuses[201] and baseline["errors"] == 0
        assert [e["kind"] for e in history(api)][:2] == ["rollback", "abort"]
        assert api.get("/api/prompts/greet", params={**TENANT, "label": "production"}).json()["version"]["id"] == v1
        # After the abort every user is on the baseline again: no run fails.
        assert (
            api.post("/api/prompts/greet/run", json={**TENANT, "variables": {"who": "Ada"}, "key": "u1"}).status_code
            == 201
        )


def test_a_healthy_canary_promotes_itself_to_100_percent(api: httpx.Client) -> None:
    v1, v2 = start_canary(api, min_seconds=0.5)
    app = Application(api, RefusesModel(failing=None))
    complete = wait_for(
        lambda: [e for e in history(api) if e["kind"] == "complete"],
        "the rollout to complete",
        timeout_s=30,
        between=lambda: app.serve(40),
        explain=lambda: (history(api), api.get("/api/prompts/greet/labels/production/rollout", params=TENANT).json()),
    )
    events = history(api)
    assert [e["kind"] for e in events[:4]] == ["complete", "promote", "split", "move"]
    promote = events[1]
    assert promote["split"] == [{"version_id": v1, "weight": 50}, {"version_id": v2, "weight": 50}]
    assert promote["details"]["weight"] == 50 and promote["details"]["canary"]["calls"] >= 5
    assert complete[0]["to_version_id"] == v2 and complete[0]["split"] is None
    resolved = api.get("/api/prompts/greet", params={**TENANT, "label": "production", "key": "anyone"}).json()
    assert resolved["version"]["id"] == v2 and "split" not in resolved
    state = api.get("/api/prompts/greet/labels/production/rollout", params=TENANT).json()
    assert (state["status"], state["step"], state["last_decision"]["action"]) == ("completed", 2, "complete")


def test_a_canary_whose_model_identity_drifts_is_held(api: httpx.Client) -> None:
    start_canary(api, min_seconds=0)
    llm = RefusesModel(failing=None)
    llm.set_identity("fp_changed_under_us")  # the provider now answers with another model build
    Application(api, llm).serve()
    held = wait_for(lambda: [e for e in history(api) if e["kind"] == "hold"], "the hold", timeout_s=30)
    assert "drifted" in held[0]["reason"] and held[0]["details"]["canary"]["identity_mismatches"] >= 5
    state = api.get("/api/prompts/greet/labels/production/rollout", params=TENANT).json()
    assert state["status"] == "held" and state["arms"][1]["weight"] == 10  # stays where it was: no promote, no abort
    kinds = [e["kind"] for e in history(api)]
    assert kinds[:3] == ["hold", "split", "move"]


def test_rollout_state_while_running_and_bad_policies(api: httpx.Client) -> None:
    v1, v2 = start_canary(api, min_seconds=3600)
    state = api.get("/api/prompts/greet/labels/production/rollout", params=TENANT)
    assert state.status_code == 200, state.text
    body = state.json()
    assert (body["status"], body["step"], body["steps"]) == ("running", 0, [10, 50, 100])
    assert [(a["variant"], a["version_id"], a["weight"]) for a in body["arms"]] == [(0, v1, 90), (1, v2, 10)]
    missing = api.get("/api/prompts/greet/labels/staging/rollout", params=TENANT)
    assert missing.status_code == 404 and missing.json()["error"] == "rollout_not_found"
    split = [{"version_id": v1, "weight": 80}, {"version_id": v2, "weight": 20}]
    bad = api.put("/api/prompts/greet/labels/staging", json={**TENANT, "split": split, "policy": {"steps": [10, 100]}})
    assert bad.status_code == 422 and "policy.steps" in bad.json()["detail"]
    fast = {"steps": [20, 100], "interval_s": 0.01}
    bad = api.put("/api/prompts/greet/labels/staging", json={**TENANT, "split": split, "policy": fast})
    assert bad.status_code == 422 and "policy.interval_s" in bad.json()["detail"]
    assert api.get("/api/prompts/greet/labels/staging/history", params=TENANT).status_code == 404
    # A manual move ends the rollout: the worker no longer acts on it.
    assert api.put("/api/prompts/greet/labels/production", json={**TENANT, "version_id": v2}).status_code == 200
    assert api.get("/api/prompts/greet/labels/production/rollout", params=TENANT).json()["status"] == "superseded"


def test_two_replicas_on_postgresql_decide_each_step_once(migrated_pg_url: str) -> None:
    """Both replicas' workers tick every 20 ms on one database; the advisory lock lets one act at a time, so every
    step is decided once: one split, one promote, one complete, never a duplicate."""
    settings = {"rollout_min_interval_s": 0.1, "rollout_tick_s": 0.02}
    with in_process_api(migrated_pg_url, **settings) as one, in_process_api(migrated_pg_url, **settings) as two:
        start_canary(one, min_seconds=0.3, interval_s=0.3)
        apps = [Application(one, RefusesModel(failing=None)), Application(two, RefusesModel(failing=None))]
        turn = iter(range(10_000))

        def serve() -> None:
            apps[next(turn) % 2].serve(40)

        wait_for(lambda: [e for e in history(two) if e["kind"] == "complete"], "the rollout to complete", 60, serve)
        kinds = [e["kind"] for e in history(one)]
        assert kinds == ["complete", "promote", "split", "move"], kinds


class BreaksSchemaOn(FakeProvider):
    """The fake LLM, answering JSON that breaks the response schema for one model: a canary whose structured output
    regressed."""

    def __init__(self, model: str) -> None:
        super().__init__("anthropic")
        self.model = model

    async def complete(self, request: CompletionRequest) -> Completion:
        completion = await super().complete(request)
        if request.model_id == self.model:
            return dataclasses.replace(completion, text='{"answer": 42}')
        return completion


def test_a_canary_that_breaks_its_response_schema_is_aborted(db_url: str) -> None:
    broken = "claude-canary"
    registry = ProviderRegistry({**{p: FakeProvider(p) for p in PROVIDERS}, "anthropic": BreaksSchemaOn(broken)})
    with in_process_api(db_url, registry, rollout_min_interval_s=0.1, rollout_tick_s=TICK_S) as api:
        template = create_template(api, "greet", "Answer {{ who }}", **TENANT)["id"]
        versions = []
        for model in ("claude-stable", broken):
            body = {"provider": "anthropic", "model_id": model, "response_format": RESPONSE_FORMAT}
            pinned = api.post(f"/api/prompt-templates/{template}/ensure-version", json=body)
            assert pinned.status_code in (200, 201), pinned.text
            versions.append(pinned.json()["id"])
        v1, v2 = versions
        assert api.put("/api/prompts/greet/labels/production", json={**TENANT, "version_id": v1}).status_code == 200
        body = {
            **TENANT,
            "split": [{"version_id": v1, "weight": 90}, {"version_id": v2, "weight": 10}],
            "policy": {"steps": [10, 100], "min_calls": 3, "min_seconds": 3600, "interval_s": INTERVAL_S},
        }
        assert api.put("/api/prompts/greet/labels/production", json=body).status_code == 200
        valid = []
        for n in range(80):
            run = api.post("/api/prompts/greet/run", json={**TENANT, "variables": {"who": "x"}, "key": f"u{n}"})
            assert run.status_code == 201, run.text
            valid.append((run.json()["variant"], run.json()["schema_valid"]))
        assert {v for v in valid if v[0] == 1} == {(1, False)} and {v for v in valid if v[0] == 0} == {(0, True)}
        abort = wait_for(lambda: [e for e in history(api) if e["kind"] == "abort"], "the abort", timeout_s=30)[0]
        assert "schema violation" in abort["reason"] and abort["details"]["canary"]["schema_violations"] >= 3
        assert abort["details"]["baseline"]["schema_violations"] == 0
        assert api.get("/api/prompts/greet", params={**TENANT, "label": "production"}).json()["version"]["id"] == v1
