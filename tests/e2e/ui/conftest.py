"""The UI's browser-test world: a live uvicorn server with PROMPTER_AUTH=required, an OTLP receiver standing in for
the tracing backend, keys of two roles, seeded prompts and results, and headless Chromium."""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.app import create_app
from service.db.engine import create_engine, session_factory, unit_of_work
from service.db.models import PromptResult
from service.providers import ProviderRegistry
from service.settings import Settings
from tests.conftest import need
from tests.e2e.test_auth import bearer, make_key
from tests.support import browser
from tests.support.live_server import LiveServer
from tests.support.otlp_receiver import OTLPReceiver

XSS_BODY = "Hello {{ who }}!\n<script>alert(1)</script>\nAnswer in {{ language }}."
REPO_SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"


@dataclass
class World:
    base_url: str
    db_url: str
    keys: dict[str, str]
    registry: ProviderRegistry
    receiver: OTLPReceiver
    api: httpx.Client
    screenshots: Path
    greet_id: int = 0
    result_id: int = 0
    trace_id: str = ""

    def as_writer(self) -> dict[str, str]:
        return bearer(self.keys["write"])


def backdate_runs(db_url: str, result_id: int, count: int) -> None:
    """Copies of one real result spread over the last 24 h, so the activity chart has a day to draw."""

    async def insert() -> None:
        engine = create_engine(Settings(db_url=db_url))
        rng = random.Random(16)
        try:
            async with unit_of_work(session_factory(engine)) as session:
                source = await session.get(PromptResult, result_id)
                assert source is not None
                now = datetime.now(UTC)
                for i in range(count):
                    hours_ago = rng.triangular(0, 24, 3)
                    session.add(
                        PromptResult(
                            **{
                                column: getattr(source, column)
                                for column in ("template_id", "version_id", "pvk", "provider", "model_id")
                            },
                            variables=source.variables,
                            rendered_prompt=source.rendered_prompt,
                            output=source.output,
                            system_fingerprint=source.system_fingerprint,
                            provider_metadata=source.provider_metadata,
                            input_tokens=source.input_tokens,
                            output_tokens=source.output_tokens + i % 7,
                            latency_ms=round(rng.lognormvariate(5.5, 0.35) + (200 if hours_ago < 6 else 0), 1),
                            trace_id=None,
                            created_at=now - timedelta(hours=hours_ago),
                        )
                    )
        finally:
            await engine.dispose()

    asyncio.run(insert())


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    reason = browser.missing()
    if reason:
        need(reason)
    # Spans reach the receiver within a fraction of a second instead of the SDK's 5 s batch delay.
    previous_delay = os.environ.get("OTEL_BSP_SCHEDULE_DELAY")
    os.environ["OTEL_BSP_SCHEDULE_DELAY"] = "100"
    tmp = tmp_path_factory.mktemp("ui-world")
    db_url = f"sqlite:///{tmp}/prompter.db"
    registry = ProviderRegistry.fakes()
    screenshots = REPO_SCREENSHOTS if os.environ.get("PROMPTER_UPDATE_SCREENSHOTS") else tmp / "screenshots"
    with OTLPReceiver() as receiver:
        settings = Settings(
            db_url=db_url,
            db_auto_migrate=True,
            auth="required",
            otlp_endpoint=receiver.url,
            trace_url=f"{receiver.url}/trace/{{trace_id}}",
            ui_secret="browser-test-secret",
        )
        server = LiveServer(create_app(settings, providers=registry))
        base_url = server.start()
        try:
            keys = {role: make_key(db_url, "acme", "support", role) for role in ("read", "write", "admin")}
            keys["other"] = make_key(db_url, "globex", "sales", "write")
            with httpx.Client(base_url=base_url, timeout=30) as api:
                world = World(base_url, db_url, keys, registry, receiver, api, screenshots)
                seed(world)
                yield world
        finally:
            server.stop()
            if previous_delay is None:
                os.environ.pop("OTEL_BSP_SCHEDULE_DELAY", None)
            else:
                os.environ["OTEL_BSP_SCHEDULE_DELAY"] = previous_delay


def post(world: World, path: str, body: dict[str, Any], key: str = "write") -> dict[str, Any]:
    response = world.api.post(path, json=body, headers=bearer(world.keys[key]))
    assert response.status_code in (200, 201), response.text
    return response.json()


def seed(world: World) -> None:
    """A workspace that looks used: a few prompts, one with three revisions (the newest with a script tag in its
    body), pinned versions on two providers, runs, and another tenant's prompt that must never show."""
    greet = None
    for body in (
        "Hello {{ who }}!",
        "Hello {{ who }}!\nAnswer in {{ language }}.",
        XSS_BODY,
    ):
        greet = post(world, "/api/prompt-templates", {"name": "greet", "body": body})
    assert greet is not None
    world.greet_id = greet["id"]
    for name, body in (
        ("summarize-ticket", "Summarize this support ticket in three bullet points:\n{{ ticket }}"),
        ("classify-intent", "Classify the intent of: {{ message }}\nOne of: refund, bug, question."),
        ("draft-reply", "Draft a polite reply to {{ customer }} about {{ topic }}."),
    ):
        post(world, "/api/prompt-templates", {"name": name, "body": body})
    post(world, "/api/prompt-templates", {"name": "globex-secret", "body": "not yours"}, key="other")
    pinned = [
        post(world, f"/api/prompt-templates/{greet['id']}/ensure-version", {"provider": provider, "model_id": model})
        for provider, model in (("openai", "gpt-4o"), ("google", "gemini-2.0-flash"))
    ]
    # `production` is protected: only an admin key may point it.
    response = world.api.put(
        "/api/prompts/greet/labels/production",
        json={"version_id": pinned[0]["id"], "reason": "tested in staging"},
        headers=bearer(world.keys["admin"]),
    )
    assert response.status_code == 200, response.text
    run = post(
        world,
        f"/api/prompt-templates/{greet['id']}/run",
        {"provider": "openai", "model_id": "gpt-4o", "variables": {"who": "Ada", "language": "French"}},
    )
    backdate_runs(world.db_url, run["id"], 180)
    through_label = world.api.post(
        "/api/prompts/greet/run",
        params={"label": "production"},
        json={"variables": {"who": "Grace", "language": "Italian"}},
        headers=world.as_writer(),
    )
    assert through_label.status_code == 201 and through_label.json()["label"] == "production", through_label.text
    newest = post(
        world,
        f"/api/prompt-templates/{greet['id']}/run",
        {"provider": "openai", "model_id": "gpt-4o", "variables": {"who": "Ada", "language": "French"}},
    )
    world.result_id, world.trace_id = newest["id"], newest["trace_id"]


@pytest.fixture
def chrome(tmp_path: Path) -> Iterator[Any]:
    with browser.chromium(tmp_path / "profile") as driver:
        yield driver
