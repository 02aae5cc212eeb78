"""The transactional outbox on SQLite and PostgreSQL (service/webhooks/outbox.py): an event exists exactly when the
transaction that wrote it committed, and a subject's sequence numbers follow its commit order even when transactions
overlap (the subject's row lock makes the second wait for the first)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from service.db.engine import create_engine, session_factory, unit_of_work
from service.db.models import WebhookEvent
from service.settings import Settings
from service.webhooks.outbox import UnknownEventType, add_event, prompt_subject


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, migrated_sqlite_url: str) -> str:
    return migrated_sqlite_url if request.param == "sqlite" else request.getfixturevalue("migrated_pg_url")


def event(name: str = "greet", type_: str = "label.moved") -> dict:
    return {"org_id": "acme", "workspace_id": "shop", "type": type_, "subject": prompt_subject(name), "data": {"n": 1}}


async def stored(factory) -> list[WebhookEvent]:  # noqa: ANN001
    async with factory() as session:
        return list((await session.scalars(select(WebhookEvent).order_by(WebhookEvent.id))).all())


def test_an_event_lives_and_dies_with_its_transaction(db_url: str) -> None:
    async def scenario() -> None:
        engine = create_engine(Settings(db_url=db_url))
        factory = session_factory(engine)
        try:
            with pytest.raises(RuntimeError):
                async with unit_of_work(factory) as session:
                    await add_event(session, **event())
                    raise RuntimeError("the change failed")
            assert await stored(factory) == []
            async with unit_of_work(factory) as session:
                await add_event(session, **event())
                await add_event(session, **event())
                await add_event(session, **event("other"))
            rows = await stored(factory)
            assert [(r.subject, r.seq) for r in rows] == [("prompt:greet", 1), ("prompt:greet", 2), ("prompt:other", 1)]
            assert len({r.event_id for r in rows}) == 3 and all(r.event_id.startswith("msg_") for r in rows)
            assert not any(r.fanned_out for r in rows)
            async with unit_of_work(factory) as session:
                with pytest.raises(UnknownEventType):
                    await add_event(session, **event(type_="label.teleported"))
        finally:
            await engine.dispose()

    asyncio.run(scenario())


def test_overlapping_transactions_get_sequence_numbers_in_commit_order(migrated_pg_url: str) -> None:
    async def scenario() -> None:
        engine = create_engine(Settings(db_url=migrated_pg_url))
        factory = session_factory(engine)
        first_added, release_first = asyncio.Event(), asyncio.Event()
        try:

            async def first() -> None:
                async with unit_of_work(factory) as session:
                    await add_event(session, **event())
                    first_added.set()
                    await release_first.wait()  # holds the subject's row lock meanwhile

            async def second() -> None:
                await first_added.wait()
                async with unit_of_work(factory) as session:
                    await add_event(session, **{**event(), "data": {"n": 2}})

            one, two = asyncio.create_task(first()), asyncio.create_task(second())
            await asyncio.sleep(0)  # let both start; the second now waits on the lock, not on a timer
            await first_added.wait()
            assert not two.done()
            release_first.set()
            await asyncio.gather(one, two)
            rows = await stored(factory)
            assert [(r.data["n"], r.seq) for r in rows] == [(1, 1), (2, 2)]
        finally:
            await engine.dispose()

    asyncio.run(scenario())
