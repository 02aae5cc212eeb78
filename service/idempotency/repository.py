"""SQL for idempotency_keys. A second row for one (tenant, key) leaves here as `service.db.engine.IntegrityConflict`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.engine import insert_guarded
from service.db.models import IdempotencyKey

# Expired rows removed per insert: the table is swept as it is written, a bounded amount each time, with no job to run.
SWEEP_BATCH = 100


class IdempotencyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find(self, org_id: str, workspace_id: str, key: str, *, since: datetime) -> IdempotencyKey | None:
        """The live record of `key` (created at or after `since`), if any."""
        query = select(IdempotencyKey).where(
            IdempotencyKey.org_id == org_id,
            IdempotencyKey.workspace_id == workspace_id,
            IdempotencyKey.key == key,
            IdempotencyKey.created_at >= since,
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def insert(self, record: IdempotencyKey, *, expired_before: datetime) -> None:
        scope = (IdempotencyKey.org_id == record.org_id, IdempotencyKey.workspace_id == record.workspace_id)
        # An expired record of the same key would block the unique constraint: it is gone, as far as clients know.
        await self.session.execute(
            delete(IdempotencyKey).where(
                *scope, IdempotencyKey.key == record.key, IdempotencyKey.created_at < expired_before
            )
        )
        oldest = (
            select(IdempotencyKey.id)
            .where(*scope, IdempotencyKey.created_at < expired_before)
            .order_by(IdempotencyKey.created_at)
            .limit(SWEEP_BATCH)
        )
        await self.session.execute(
            delete(IdempotencyKey)
            .where(IdempotencyKey.id.in_(oldest.scalar_subquery()))
            .execution_options(synchronize_session=False)
        )
        await insert_guarded(self.session, record)
