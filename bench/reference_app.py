"""The minimal reference for Prompter's run endpoint: Litestar + async SQLAlchemy on SQLite (or PostgreSQL), reading one
row and inserting one row per POST in one transaction, with Prompter's own WAL pragmas. No telemetry, no providers, no
rendering: what the same stack costs with nothing of Prompter on top. `python -m bench` runs it beside Prompter's run
(telemetry off) and reports Prompter's RPS as a fraction of this one's.

  BENCH_REFERENCE_DB=sqlite+aiosqlite:////tmp/ref.db uvicorn bench.reference_app:app --factory
  POST /items/1/run {"name": "Ada"}  -> 201 {"id": <new row>, "parent": 1, "body": "..."}
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, get, post
from litestar.exceptions import NotFoundException
from sqlalchemy import ForeignKey, String, Text, event, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Parent(Base):
    __tablename__ = "parents"
    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(Text)


class Child(Base):
    __tablename__ = "children"
    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("parents.id"))
    name: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)


def _sqlite_pragmas(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


def create_app(db_url: str) -> Litestar:
    engine = create_async_engine(db_url)
    if engine.dialect.name == "sqlite":
        _sqlite_pragmas(engine)
    sessions = async_sessionmaker(engine, expire_on_commit=False)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
            if await conn.scalar(select(Parent.id).where(Parent.id == 1)) is None:
                await conn.execute(insert(Parent).values(id=1, body="Hello {{ name }}!"))
        try:
            yield
        finally:
            await engine.dispose()

    @post("/items/{parent_id:int}/run", status_code=201)
    async def run(parent_id: int, data: dict[str, str]) -> dict[str, Any]:
        async with sessions.begin() as session:
            parent = await session.get(Parent, parent_id)
            if parent is None:
                raise NotFoundException(f"no parent {parent_id}")
            child = Child(parent_id=parent.id, name=data.get("name", ""), body=parent.body)
            session.add(child)
            await session.flush()
            return {"id": child.id, "parent": parent.id, "body": child.body}

    @get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return Litestar(route_handlers=[run, healthz], lifespan=[lifespan], openapi_config=None)


def app() -> Litestar:
    """uvicorn factory: the database URL comes from the harness through the environment."""
    return create_app(os.environ["BENCH_REFERENCE_DB"])
