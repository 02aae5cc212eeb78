"""Checks `prompter` runs before serving or touching the database, so every startup failure is one line saying what is
wrong and how to fix it (exit code 1), never a traceback or an ExceptionGroup from inside uvicorn's lifespan."""

from __future__ import annotations

import errno
import socket
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from service.settings import Settings


class StartupFailure(Exception):
    """Its message is the one line `prompter` prints before exiting 1."""


def check_port(host: str, port: int) -> None:
    """Bind and release the address uvicorn is about to bind: a port in use is reported before anything starts."""
    if not 0 <= port <= 65535:
        raise StartupFailure(f"--port {port} is not a TCP port: use a number from 1 to 65535 (0 picks a free one)")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise StartupFailure(
            f"--host {host!r} does not resolve ({exc.strerror}): use an IP address or a known name"
        ) from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: TIME_WAIT is not "in use"
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise StartupFailure(
                    f"port {port} on {host} is already in use: stop the process holding it or choose another --port"
                ) from None
            raise StartupFailure(
                f"cannot listen on {host}:{port} ({exc.strerror}): choose another --host/--port"
            ) from None


async def check_database(settings: Settings) -> None:
    """Reachable, writable, and with a schema this code can serve (migrated first when auto-migrate is on)."""
    from service.db.engine import create_engine
    from service.db.migrate import migrate, schema_state

    check_sqlite_directory(settings.db.url)
    engine = create_engine(settings, for_migrations=True)
    try:
        if settings.db.auto_migrate:
            await migrate(settings)
        state = await schema_state(engine)
        if state.behind:
            raise StartupFailure(state.explain())
        if engine.dialect.name == "postgresql":
            async with engine.connect() as conn:
                read_only = await conn.scalar(text("SHOW transaction_read_only"))
            if read_only == "on":
                raise StartupFailure(
                    f"the database in DB_URL={shown_url(settings.db.url)} is read-only (a standby, or "
                    "default_transaction_read_only is on): point DB_URL at a writable primary"
                )
    except StartupFailure:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure here is reported as one line, with its cause
        raise StartupFailure(describe_database_error(exc, settings.db.url)) from None
    finally:
        await engine.dispose()


def check_sqlite_directory(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return
    directory = Path(parsed.database).expanduser().resolve().parent
    if not directory.is_dir():
        raise StartupFailure(
            f"DB_URL={url}: the directory {directory} does not exist: create it or point DB_URL at an existing one"
        )


def shown_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - settings already refused malformed URLs; be safe anyway
        return "<DB_URL>"


def describe_database_error(exc: BaseException, url: str) -> str:
    """One line: what the driver said (its error class and first message line, never SQL parameters) and what to do."""
    cause = _root_cause(exc)
    message = (str(cause).strip().splitlines() or [""])[0][:300]
    what = f"{type(cause).__name__}: {message}" if message else type(cause).__name__
    lowered = message.lower()
    if "readonly" in lowered or "read-only" in lowered or "permission denied" in lowered:
        hint = "make the database (and its directory, for SQLite) writable by this user, or fix DB_URL"
    elif "unable to open database file" in lowered:
        hint = "check that the SQLite file's directory exists and is writable"
    elif isinstance(cause, OSError | TimeoutError) or "connect" in lowered or "does not exist" in lowered:
        hint = "check that the database server runs and DB_URL names the right host, port, database and user"
    else:
        hint = "fix the database or DB_URL, then start again"
    return f"cannot use the database at DB_URL={shown_url(url)} ({what}): {hint}"


def _root_cause(exc: BaseException) -> BaseException:
    """The driver's own error: unwrap SQLAlchemy's wrapper, exception groups and `raise ... from` chains."""
    seen: set[int] = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
            exc = exc.exceptions[0]
        elif getattr(exc, "orig", None) is not None and isinstance(exc.orig, BaseException):  # type: ignore[attr-defined]
            exc = exc.orig  # type: ignore[attr-defined]
        elif exc.__cause__ is not None:
            exc = exc.__cause__
        else:
            break
    return exc
