"""The retire service on the real databases (SQLite and PostgreSQL), without HTTP: the domain events it publishes on
commit (PromptListChanged for the MCP list_changed notification) and none when a refusal rolls the transaction back,
and a deletion that is whole or nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from service.archive.rules import ConfirmationRequired, LabelledTarget
from service.archive.service import RetireService
from service.auth.principal import TenantScope
from service.db.engine import create_engine, session_factory, unit_of_work
from service.db.models import (
    PromptDeletion,
    PromptLabel,
    PromptLabelEvent,
    PromptTemplate,
    PromptVersion,
    WebhookEvent,
)
from service.settings import Settings
from telemetry.events import LabelMoved, PromptListChanged

TENANT = TenantScope(None, "acme", "support")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, migrated_sqlite_url: str) -> str:
    return migrated_sqlite_url if request.param == "sqlite" else request.getfixturevalue("migrated_pg_url")


def in_transaction(db_url: str, work: Callable[[Any], Awaitable[Any]]) -> tuple[Any, list[object]]:
    """Run `work(session)` in one unit of work; (its result or the error it raised, the events published)."""
    published: list[object] = []

    async def run() -> Any:
        engine = create_engine(Settings(db_url=db_url))
        try:
            async with unit_of_work(session_factory(engine), publish=published.append) as session:
                return await work(session)
        except Exception as error:  # noqa: BLE001 - the test inspects it
            return error
        finally:
            await engine.dispose()

    return asyncio.run(run()), published


def seed(db_url: str, labelled: bool) -> int:
    async def work(session: Any) -> int:
        template = PromptTemplate(
            org_id="acme", workspace_id="support", name="greet", body="Hi", variables=[], content_hash="h", revision=1
        )
        session.add(template)
        await session.flush()
        version = PromptVersion(
            template_id=template.id, provider="openai", model_id="m", params={}, params_hash="p", captured={}, pvk="k"
        )
        session.add(version)
        await session.flush()
        if labelled:
            session.add(
                PromptLabel(
                    org_id="acme",
                    workspace_id="support",
                    name="greet",
                    label="production",
                    version_id=version.id,
                    updated_by="t",
                )
            )
        return version.id

    version_id, _ = in_transaction(db_url, work)
    return version_id


def test_archive_unarchive_and_delete_publish_prompt_list_changed_on_commit(db_url: str) -> None:
    seed(db_url, labelled=False)
    changed = PromptListChanged("acme", "support", "greet")
    for action in (
        lambda s: RetireService(s).archive_name("greet", tenant=TENANT),
        lambda s: RetireService(s).unarchive_name("greet", tenant=TENANT),
    ):
        result, published = in_transaction(db_url, action)
        assert not isinstance(result, Exception), result
        assert published == [changed]


def test_a_delete_counts_each_removed_label_as_a_label_delete(db_url: str) -> None:
    seed(db_url, labelled=True)
    protected = frozenset({"production"})
    result, published = in_transaction(
        db_url, lambda s: RetireService(s, protected=protected).delete_name("greet", tenant=TENANT, confirm="greet")
    )
    assert not isinstance(result, Exception), result
    assert published == [LabelMoved(kind="delete", protected=True), PromptListChanged("acme", "support", "greet")]


def test_a_deleted_labels_history_row_stacks_on_the_move_a_rollout_hold_sat_beside(db_url: str) -> None:
    # The label was moved, then a rollout held it (an annotation beside the rollback stack). The delete's row must
    # stack on the move, as a delete through the labels API does (service/db/label_history.py: stack_top); it once
    # stacked on the hold instead.
    version_id = seed(db_url, labelled=True)

    async def history(session: Any) -> int:
        common = {"org_id": "acme", "workspace_id": "support", "name": "greet", "label": "production", "actor": "t"}
        moved = PromptLabelEvent(kind="move", from_version_id=None, to_version_id=version_id, **common)
        session.add(moved)
        await session.flush()
        held = PromptLabelEvent(
            kind="hold", from_version_id=version_id, to_version_id=version_id, stack_parent_id=moved.id, **common
        )
        session.add(held)
        await session.flush()
        return int(moved.id)

    moved_id, _ = in_transaction(db_url, history)
    result, _ = in_transaction(db_url, lambda s: RetireService(s).delete_name("greet", tenant=TENANT, confirm="greet"))
    assert not isinstance(result, Exception), result

    async def deleted(session: Any) -> PromptLabelEvent:
        query = select(PromptLabelEvent).where(PromptLabelEvent.kind == "delete")
        return (await session.scalars(query)).one()

    row, _ = in_transaction(db_url, deleted)
    assert row.stack_parent_id == moved_id and row.from_version_id == version_id


def test_a_refusal_publishes_nothing_and_writes_nothing(db_url: str) -> None:
    seed(db_url, labelled=True)
    refused, published = in_transaction(db_url, lambda s: RetireService(s).archive_name("greet", tenant=TENANT))
    assert isinstance(refused, LabelledTarget) and refused.extra["labels"] == ["production"]
    assert published == []
    unconfirmed, published = in_transaction(
        db_url, lambda s: RetireService(s).delete_name("greet", tenant=TENANT, confirm="nope")
    )
    assert isinstance(unconfirmed, ConfirmationRequired) and published == []

    async def counts(session: Any) -> tuple[int, ...]:
        return tuple(
            [
                await session.scalar(select(func.count()).select_from(model))
                for model in (PromptTemplate, PromptVersion, PromptLabel, PromptDeletion)
            ]
        )

    assert in_transaction(db_url, counts)[0] == (1, 1, 1, 0)


def test_a_delete_that_fails_midway_leaves_everything_in_place(db_url: str) -> None:
    seed(db_url, labelled=True)

    async def delete_then_fail(session: Any) -> None:
        await RetireService(session).delete_name("greet", tenant=TENANT, confirm="greet")
        raise RuntimeError("the request failed after the service returned")

    failed, published = in_transaction(db_url, delete_then_fail)
    assert isinstance(failed, RuntimeError) and published == []

    async def left(session: Any) -> tuple[int, int, int]:
        templates = await session.scalar(select(func.count()).select_from(PromptTemplate))
        labels = await session.scalar(select(func.count()).select_from(PromptLabel))
        deletions = await session.scalar(select(func.count()).select_from(PromptDeletion))
        return templates, labels, deletions

    assert in_transaction(db_url, left)[0] == (1, 1, 0)


def test_each_change_calls_the_retirement_event_hook_once(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hook the webhook outbox is wired to: called for changes only, in the transaction that makes them."""
    version_id = seed(db_url, labelled=False)
    calls: list[tuple[str, str, int | None]] = []

    async def record(self: RetireService, kind: str, org_id: str, workspace_id: str, name: str, **what: Any) -> None:
        assert self.session.in_transaction()
        calls.append((kind, what["part"], what.get("target_id")))

    monkeypatch.setattr(RetireService, "_emit_retirement_event", record)

    async def template_id(session: Any) -> int:
        return int(await session.scalar(select(PromptVersion.template_id).where(PromptVersion.id == version_id)))

    tid, _ = in_transaction(db_url, template_id)
    for action in (
        lambda s: RetireService(s).archive_version(version_id, archived=True),
        lambda s: RetireService(s).archive_version(version_id, archived=True),  # no change: no event
        lambda s: RetireService(s).archive_revision(tid, archived=True),
        lambda s: RetireService(s).archive_revision(tid, archived=False),
        lambda s: RetireService(s).archive_name("greet", tenant=TENANT),
        lambda s: RetireService(s).delete_name("greet", tenant=TENANT, confirm="greet"),
    ):
        result, _ = in_transaction(db_url, action)
        assert not isinstance(result, Exception), result
    deletion_id = calls[-1][2]
    assert calls == [
        ("prompt.archived", "version", version_id),
        ("prompt.archived", "revision", tid),
        ("prompt.unarchived", "revision", tid),
        ("prompt.archived", "name", None),
        ("prompt.deleted", "name", deletion_id),
    ]
    assert deletion_id is not None


def test_retirements_and_the_labels_a_delete_removes_are_webhook_events_in_the_same_transaction(db_url: str) -> None:
    """The outbox rows are written by the change's own transaction: committed with it, or not at all."""
    seed(db_url, labelled=True)

    async def events(session: Any) -> list[tuple[str, dict[str, Any]]]:
        rows = await session.execute(select(WebhookEvent.type, WebhookEvent.data).order_by(WebhookEvent.seq))
        return [(type_, data) for type_, data in rows.all()]

    refused, _ = in_transaction(db_url, lambda s: RetireService(s).archive_name("greet", tenant=TENANT))
    assert isinstance(refused, LabelledTarget)
    assert in_transaction(db_url, events)[0] == []  # the refused archive wrote no event
    result, _ = in_transaction(db_url, lambda s: RetireService(s).delete_name("greet", tenant=TENANT, confirm="greet"))
    assert not isinstance(result, Exception), result
    written = in_transaction(db_url, events)[0]
    assert [type_ for type_, _ in written] == ["label.deleted", "prompt.deleted"]
    assert written[0][1]["label"] == "production" and written[0][1]["to_version_id"] is None
    assert written[1][1] == {"prompt": "greet", "part": "name", "id": result.id, "actor": "anonymous"}
