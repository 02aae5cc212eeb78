"""The UI's own SQL on SQLite and the real PostgreSQL: hour buckets and p95 of the activity chart, last runs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from service.db.engine import create_engine, session_factory, unit_of_work
from service.db.migrate import upgrade
from service.db.models import PromptResult, PromptTemplate, PromptVersion
from service.runs.repository import ResultRepository
from service.runs.service import RunService
from service.settings import Settings
from service.templates.repository import TemplateRepository
from service.ui import chart

NOW = datetime.now(UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, sqlite_url):
    return sqlite_url if request.param == "sqlite" else request.getfixturevalue("pg_url")


def result(template: PromptTemplate, version: PromptVersion, at: datetime, latency_ms: float) -> PromptResult:
    return PromptResult(
        template_id=template.id,
        version_id=version.id,
        pvk="k",
        provider="openai",
        model_id="m",
        variables={},
        rendered_prompt="p",
        output="o",
        provider_metadata={},
        input_tokens=1,
        output_tokens=1,
        latency_ms=latency_ms,
        created_at=at,
    )


def test_hour_buckets_and_last_runs(db_url):
    start = chart.window_start(NOW)

    async def scenario():
        engine = create_engine(Settings(db_url=db_url))
        try:
            await upgrade(engine)
            async with unit_of_work(session_factory(engine)) as session:
                templates = [
                    PromptTemplate(
                        org_id="o", workspace_id="w", name=name, body="b", variables=[], content_hash=name, revision=1
                    )
                    for name in ("a", "b", "c")
                ]
                session.add_all(templates)
                await session.flush()
                version = PromptVersion(
                    template_id=templates[0].id,
                    provider="openai",
                    model_id="m",
                    params={},
                    params_hash="h",
                    captured={},
                    pvk="k",
                )
                session.add(version)
                await session.flush()
                a, b, _ = templates
                session.add_all(
                    [
                        result(a, version, start + timedelta(minutes=1), 10.0),  # hour 0
                        result(a, version, start + timedelta(hours=5, minutes=59), 20.0),  # hour 5
                        *(result(a, version, start + timedelta(hours=5, seconds=n), float(n)) for n in range(1, 20)),
                        result(a, version, start - timedelta(minutes=1), 99.0),  # before the window
                        result(b, version, NOW - timedelta(days=3), 1.0),
                    ]
                )
                await session.flush()
                runs = ResultRepository(session)
                counts, _ = await runs.hourly_activity([a.id], start)
                p95s = await RunService(session, None, None, None, None).hourly_activity([a], start)  # type: ignore[arg-type]
                last = await TemplateRepository(session).last_runs("o", "w", ["a", "b", "c"])
            return counts, p95s, last
        finally:
            await engine.dispose()

    counts, (same_counts, p95s), last = asyncio.run(scenario())
    assert counts == same_counts == {0: 1, 5: 20}
    assert p95s == {0: 10.0, 5: 19.0}  # nearest rank: the 19th of 1..20 ms
    assert set(last) == {("o", "w", "a"), ("o", "w", "b")}  # c never ran
    assert abs(last["o", "w", "a"] - (start + timedelta(hours=5, minutes=59))) < timedelta(seconds=1)
