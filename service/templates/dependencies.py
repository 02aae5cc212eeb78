"""The templates package's dependencies, mounted by service/app.py."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.guard import current_principal
from service.http.runtime import runtime_of
from service.templates.service import TemplateService


def provide_templates(session: NamedDependency[AsyncSession], request: Request[Any, Any, Any]) -> TemplateService:
    runtime = runtime_of(request)
    return TemplateService(session, runtime.telemetry, runtime.settings, current_principal(request))


DEPENDENCIES = {"templates": Provide(provide_templates, sync_to_thread=False)}
