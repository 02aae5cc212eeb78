"""Migrated template databases: the migrations run once per test session, and each test gets a copy.

SQLite: the migrated file is copied (a file copy is a few milliseconds; running the migrations is most of a second).
PostgreSQL: `CREATE DATABASE ... TEMPLATE` clones the migrated template database on the server. A test that needs an
empty database (migrations themselves, startup refusals) keeps using `sqlite_url` / `pg_url`.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from service.db.migrate import migrate
from service.settings import Settings


def migrate_sqlite_file(path: Path) -> Path:
    """Migrate a new SQLite file at `path` to head; every connection is closed after, so the file is complete."""
    asyncio.run(migrate(Settings(db_url=f"sqlite:///{path}")))
    for suffix in ("-wal", "-shm"):  # the last connection's close checkpointed the WAL into the file
        if Path(f"{path}{suffix}").exists():
            raise RuntimeError(f"{path}{suffix} left after migrating: the template would be incomplete")
    return path


def copy_sqlite_file(template: Path, target: Path) -> str:
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


def migrate_pg_database(url: str) -> None:
    asyncio.run(migrate(Settings(db_url=url)))
