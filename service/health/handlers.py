from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncEngine

from service.cache import RedisHealth
from service.db.migrate import schema_state


@get("/healthz", tags=["health"], summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", tags=["health"], summary="The database answers with a current schema (Redis is reported but optional)")
async def readyz(
    db_engine: NamedDependency[AsyncEngine], redis_health: NamedDependency[RedisHealth]
) -> Response[dict[str, Any]]:
    # Reading the schema revision is the connectivity check too. A schema behind this code (someone downgraded, or a
    # restore from an old backup) is not ready: every request touching a missing table or column would answer 500.
    schema: dict[str, Any] = {"schema": "unknown"}
    try:
        state = await schema_state(db_engine)
        database = "up"
        schema = {"schema": state.status, "schema_revision": state.revision, "schema_head": state.head}
    except Exception:
        database = "down"
    ready = database == "up" and schema["schema"] != "behind"
    body = {"status": "ready" if ready else "unavailable", "database": database, **schema, "redis": redis_health.status}
    return Response(body, status_code=200 if ready else 503, headers=None if ready else {"Retry-After": "2"})
