"""The runs package's dependencies, mounted by service/app.py."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from service.http.runtime import runtime_of
from service.labels.service import LabelService
from service.runs.service import RunService
from service.templates.service import TemplateService
from service.versions.service import VersionService


def provide_runs(
    session: NamedDependency[AsyncSession],
    versions: NamedDependency[VersionService],
    templates: NamedDependency[TemplateService],
    labels: NamedDependency[LabelService],
    request: Request[Any, Any, Any],
) -> RunService:
    runtime = runtime_of(request)
    return RunService(session, runtime.providers, versions, templates, runtime.telemetry, labels)


DEPENDENCIES = {"runs": Provide(provide_runs, sync_to_thread=False)}
