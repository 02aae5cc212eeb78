"""The runs package's dependencies, mounted by service/app.py."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from service.http.runtime import runtime_of
from service.labels.service import LabelService
from service.runs.failed_calls import FailedCalls
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
    failed_calls = FailedCalls(runtime.sessions, runtime.write_queue, runtime.publish)
    return RunService(
        session, runtime.providers, versions, templates, runtime.telemetry, labels, failed_calls=failed_calls
    )


DEPENDENCIES = {"runs": Provide(provide_runs, sync_to_thread=False)}
