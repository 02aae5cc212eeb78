"""API keys written straight into the database (what `prompter keys create` / `revoke` do), for tests that need a
real key without going through the CLI."""

from __future__ import annotations

import asyncio

from service.auth.service import KeyService
from service.db.engine import create_engine, session_factory, unit_of_work
from service.settings import Settings


def make_key(db_url: str, org: str, workspace: str, role: str) -> str:
    async def create() -> str:
        engine = create_engine(Settings(db_url=db_url))
        try:
            async with unit_of_work(session_factory(engine)) as session:
                token, _ = await KeyService(session).create(org_id=org, workspace_id=workspace, role=role)
                return token
        finally:
            await engine.dispose()

    return asyncio.run(create())


def revoke(db_url: str, token: str) -> None:
    async def run() -> None:
        engine = create_engine(Settings(db_url=db_url))
        try:
            async with unit_of_work(session_factory(engine)) as session:
                await KeyService(session).revoke(token.split("_")[1])
        finally:
            await engine.dispose()

    asyncio.run(run())
