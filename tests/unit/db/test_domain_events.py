"""Domain events: collected by the unit of work, published once the transaction committed, never after a rollback; the
telemetry publisher maps each to its instrument and cannot fail the request."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from service.db.engine import session_factory
from service.db.transactions import emit, unit_of_work
from telemetry.events import LabelDrifted, LabelMoved, ModelDrifted, ResultStored, publisher


@pytest.fixture
async def sessions():
    engine = create_async_engine("sqlite+aiosqlite:///:memory:")
    yield session_factory(engine)
    await engine.dispose()


async def test_events_are_published_after_the_commit(sessions):
    published: list[object] = []
    async with unit_of_work(sessions, publish=published.append) as session:
        emit(session, LabelMoved(kind="move", protected=False))
        assert published == []  # not before the commit
    assert published == [LabelMoved(kind="move", protected=False)]


async def test_a_rolled_back_unit_of_work_publishes_nothing(sessions):
    published: list[object] = []
    with pytest.raises(RuntimeError):
        async with unit_of_work(sessions, publish=published.append) as session:
            emit(session, ResultStored(fingerprint_present=True))
            raise RuntimeError("the handler failed")
    assert published == []


async def test_without_a_publisher_events_are_dropped(sessions):
    async with unit_of_work(sessions) as session:
        emit(session, ResultStored(fingerprint_present=True))


class RecordingTelemetry:
    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.failures: list[str] = []

    def record_result_insert(self, *, fingerprint_present: bool) -> None:
        self.calls.append(("result_insert", fingerprint_present))

    def record_label_move(self, *, protected: bool, kind: str) -> None:
        self.calls.append(("label_move", protected, kind))

    def record_label_drift(self, provider: str) -> None:
        raise RuntimeError("a broken meter")

    def record_model_drift(self, provider: str, model_id: str) -> None:
        self.calls.append(("model_drift", provider, model_id))

    def count_failure(self, what: str, exc: BaseException | None = None) -> None:
        self.failures.append(what)


def test_the_publisher_maps_each_event_and_swallows_a_broken_meter():
    telemetry = RecordingTelemetry()
    publish = publisher(telemetry)  # type: ignore[arg-type]
    publish(ResultStored(fingerprint_present=False))
    publish(LabelMoved(kind="rollback", protected=True))
    publish(ModelDrifted("openai", "gpt-4o"))
    publish(LabelDrifted("openai"))  # raises inside: counted, not raised
    publish(object())  # an event nobody measures
    assert telemetry.calls == [
        ("result_insert", False),
        ("label_move", True, "rollback"),
        ("model_drift", "openai", "gpt-4o"),
    ]
    assert telemetry.failures == ["publish_event"]
