"""SQL for api_keys: the only place that queries the table."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.models import ApiKey


class KeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: ApiKey) -> ApiKey:
        self.session.add(row)
        await self.session.flush()
        return row

    async def by_key_id(self, key_id: str) -> ApiKey | None:
        return await self.session.scalar(select(ApiKey).where(ApiKey.key_id == key_id))

    async def all(self) -> list[ApiKey]:
        return list(await self.session.scalars(select(ApiKey).order_by(ApiKey.id)))

    async def flush(self) -> None:
        await self.session.flush()
