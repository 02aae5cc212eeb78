"""The versions package's dependencies, mounted by service/app.py."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from service.http.runtime import runtime_of
from service.versions.service import VersionService


def provide_versions(session: NamedDependency[AsyncSession], request: Request[Any, Any, Any]) -> VersionService:
    runtime = runtime_of(request)
    return VersionService(
        session,
        runtime.providers,
        runtime.probe,
        runtime.telemetry,
        max_schema_bytes=runtime.settings.limits.max_schema_bytes,
        cache=runtime.version_cache,
    )


DEPENDENCIES = {"versions": Provide(provide_versions, sync_to_thread=False)}
