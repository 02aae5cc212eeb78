from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.di import NamedDependency
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.cache import RedisHealth


@get("/healthz", tags=["health"], summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", tags=["health"], summary="The database answers (Redis is reported but optional)")
async def readyz(
    db_engine: NamedDependency[AsyncEngine], redis_health: NamedDependency[RedisHealth]
) -> Response[dict[str, Any]]:
    try:
        async with db_engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        database = "up"
    except Exception:
        database = "down"
    ready = database == "up"
    body = {"status": "ready" if ready else "unavailable", "database": database, "redis": redis_health.status}
    return Response(body, status_code=200 if ready else 503, headers=None if ready else {"Retry-After": "2"})
