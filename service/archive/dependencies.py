"""The archive package's dependencies, mounted by service/app.py."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from service.archive.service import RetireService
from service.auth.guard import current_principal
from service.http.runtime import runtime_of


def provide_retire(session: NamedDependency[AsyncSession], request: Request[Any, Any, Any]) -> RetireService:
    runtime = runtime_of(request)
    protected = runtime.settings.auth.protected_label_set
    return RetireService(session, current_principal(request), protected, version_cache=runtime.version_cache)


DEPENDENCIES = {"retire": Provide(provide_retire, sync_to_thread=False)}
