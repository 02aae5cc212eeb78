"""Idempotent retries for POSTs that create something: a template, a run's result.

A client that sends `Idempotency-Key: <key>` (1–200 printable ASCII characters, chosen by the client, e.g. a UUID)
may send the same request again - after a timeout, a lost connection, a 503 whose COMMIT may or may not have landed -
and gets the first successful answer (same status, same body, plus `Idempotent-Replayed: true`) without the work
being done again: no second row, no second LLM call. The same key with a different request (method, path, query or
JSON body) is refused with 422 `idempotency_key_reused`. Keys belong to the API key's tenant (one scope for the whole
instance with PROMPTER_AUTH=off) and are kept 24 hours.

How. The answer is stored in the same transaction as the work, so it exists exactly when the work was committed.
1. Before the work: a stored answer for (tenant, key) is replayed (or refused if the request differs).
2. The work runs as usual; its answer is inserted under the key's unique constraint, in the work's transaction.
3. Two requests with one key at once: both may do the work (each may call the LLM), but the database keeps one: the
   second insert conflicts, its whole transaction (result row included) rolls back, and it answers the first one's
   stored answer. A domain error the duplicate hits first (409 duplicate_template: the first one's template) is
   answered the same way.
Only successful answers are stored: an error changes nothing, so retrying it simply runs again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.principal import Principal
from service.db.engine import IntegrityConflict
from service.db.hashing import sha256_key
from service.db.models import IdempotencyKey, utcnow
from service.errors import Duplicate, PrompterError, Unprocessable
from service.idempotency.repository import IdempotencyRepository

RETENTION = timedelta(hours=24)

Answer = TypeVar("Answer")


class IdempotentReplay(Exception):
    """Answer with a stored response. Raised (not returned) so that the request's unit of work rolls back whatever
    this request wrote before it found out it was a duplicate."""

    def __init__(self, record: IdempotencyKey) -> None:
        super().__init__(record.key)
        self.status = record.status
        self.body = record.response


@dataclass(frozen=True, slots=True)
class RequestShape:
    """What makes two requests "the same request" for a key, and the status a success answers with. The HTTP layer
    reads it off the request (service/idempotency/dependencies.py); this service never sees the request itself."""

    method: str
    path: str
    query: list[tuple[str, str]]
    success_status: int


class IdempotencyService:
    def __init__(
        self,
        session: AsyncSession,
        principal: Principal | None,
        request: RequestShape,
        repo: IdempotencyRepository | None = None,
    ) -> None:
        self.repo = repo or IdempotencyRepository(session)
        self.org_id, self.workspace_id = (principal.org_id, principal.workspace_id) if principal else ("", "")
        self.request = request

    async def once(self, key: str | None, body: Any, produce: Callable[[], Awaitable[Answer]]) -> Answer:
        """`produce()`'s answer, done at most once per key: see the module docstring."""
        if key is None:
            return await produce()
        request_hash = self._request_hash(body)
        await self._replay_if_stored(key, request_hash)
        try:
            answer = await produce()
        except PrompterError:
            await self._replay_if_stored(key, request_hash)  # a concurrent duplicate got there first
            raise
        now = utcnow()
        record = IdempotencyKey(
            org_id=self.org_id,
            workspace_id=self.workspace_id,
            key=key,
            request_hash=request_hash,
            status=self.request.success_status,
            response=msgspec.to_builtins(answer),
            created_at=now,
        )
        try:
            await self.repo.insert(record, expired_before=now - RETENTION)
        except IntegrityConflict:
            await self._replay_if_stored(key, request_hash)
            # The conflicting row vanished again (it expired and was swept in between): nothing to replay.
            raise Duplicate(
                "Another request with this Idempotency-Key was being stored at the same moment; retry it.",
                code="idempotency_key_in_use",
                headers={"Retry-After": "1"},
            ) from None
        return answer

    async def _replay_if_stored(self, key: str, request_hash: str) -> None:
        stored = await self.repo.find(self.org_id, self.workspace_id, key, since=utcnow() - RETENTION)
        if stored is None:
            return
        if stored.request_hash != request_hash:
            raise Unprocessable(
                "This Idempotency-Key was already used for a different request (method, path, query or body) in "
                "the last 24 hours. Use a new key for a new request; resend the original request unchanged to get "
                "its answer again.",
                code="idempotency_key_reused",
            )
        raise IdempotentReplay(stored)

    def _request_hash(self, body: Any) -> str:
        return sha256_key(
            {
                "method": self.request.method,
                "path": self.request.path,
                "query": sorted(self.request.query),
                "body": msgspec.to_builtins(body),
            }
        )
