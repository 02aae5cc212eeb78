"""The idempotency rule of service/idempotency/service.py on a fake repository: a stored answer is replayed, a key
reused for another request is refused, a concurrent duplicate answers the first one's answer, errors store nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
import pytest

from service.auth.principal import Principal
from service.db.engine import IntegrityConflict
from service.db.models import IdempotencyKey, utcnow
from service.errors import NotFound, Unprocessable
from service.idempotency.service import IdempotencyService, IdempotentReplay, RequestShape

SHAPE = RequestShape(method="POST", path="/api/prompt-templates", query=[], success_status=201)


class FakeIdempotencyRepository:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str, str], IdempotencyKey] = {}
        # Set by a test: a row another request commits between our lookup and our insert.
        self.racing: IdempotencyKey | None = None

    async def find(self, org_id: str, workspace_id: str, key: str, *, since: datetime) -> IdempotencyKey | None:
        row = self.rows.get((org_id, workspace_id, key))
        return row if row is not None and row.created_at >= since else None

    async def insert(self, record: IdempotencyKey, *, expired_before: datetime) -> None:
        if self.racing is not None:
            self.rows[record.org_id, record.workspace_id, record.key] = self.racing
            raise IntegrityConflict("uq_idempotency_keys")
        self.rows[record.org_id, record.workspace_id, record.key] = record


class Created(msgspec.Struct):
    id: int


def service(repo: FakeIdempotencyRepository, principal: Principal | None = None, shape: RequestShape = SHAPE):
    return IdempotencyService(None, principal, shape, repo=repo)  # type: ignore[arg-type]


class Work:
    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self) -> Created:
        self.calls += 1
        return Created(self.calls)


async def test_a_retry_replays_the_first_answer_without_doing_the_work_again():
    repo, work = FakeIdempotencyRepository(), Work()
    assert await service(repo).once("k1", {"name": "t"}, work) == Created(1)
    with pytest.raises(IdempotentReplay) as replay:
        await service(repo).once("k1", {"name": "t"}, work)
    assert (replay.value.status, replay.value.body, work.calls) == (201, {"id": 1}, 1)


async def test_the_same_key_for_another_request_is_refused():
    repo, work = FakeIdempotencyRepository(), Work()
    await service(repo).once("k1", {"name": "t"}, work)
    with pytest.raises(Unprocessable) as refused:
        await service(repo).once("k1", {"name": "other"}, work)
    assert refused.value.code == "idempotency_key_reused"
    other_path = RequestShape("POST", "/api/prompts/x/run", [], 201)
    with pytest.raises(Unprocessable):
        await service(repo, shape=other_path).once("k1", {"name": "t"}, work)


async def test_keys_belong_to_a_tenant():
    repo, work = FakeIdempotencyRepository(), Work()
    await service(repo, Principal("acme", "a", "write", "k")).once("k1", {}, work)
    assert await service(repo, Principal("acme", "b", "write", "k")).once("k1", {}, work) == Created(2)


async def test_a_concurrent_duplicate_answers_the_first_ones_answer():
    repo, work = FakeIdempotencyRepository(), Work()
    first = IdempotencyKey(
        org_id="",
        workspace_id="",
        key="k1",
        request_hash=service(repo)._request_hash({"name": "t"}),
        status=201,
        response={"id": 99},
        created_at=utcnow(),
    )
    repo.racing = first
    with pytest.raises(IdempotentReplay) as replay:
        await service(repo).once("k1", {"name": "t"}, work)
    assert replay.value.body == {"id": 99}


async def test_an_error_stores_nothing_so_a_retry_runs_again():
    repo = FakeIdempotencyRepository()

    async def failing() -> Any:
        raise NotFound("No prompt template with id 7.", code="template_not_found")

    with pytest.raises(NotFound):
        await service(repo).once("k1", {}, failing)
    assert repo.rows == {}


async def test_without_a_key_the_work_just_runs():
    repo, work = FakeIdempotencyRepository(), Work()
    await service(repo).once(None, {}, work)
    await service(repo).once(None, {}, work)
    assert work.calls == 2 and repo.rows == {}
