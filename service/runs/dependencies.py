"""The runs package's dependencies, mounted by service/app.py."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from service.http.runtime import runtime_of
from service.labels.dependencies import provide_labels
from service.runs.failed_calls import FailedCalls
from service.runs.service import RunService
from service.templates.service import TemplateService
from service.versions.dependencies import provide_versions


def provide_runs(
    session: NamedDependency[AsyncSession],
    templates: NamedDependency[TemplateService],
    request: Request[Any, Any, Any],
) -> RunService:
    # The version and label services a run needs are built here, from the same providers, rather than resolved as
    # dependencies of their own: each resolved dependency costs a signature check per request, and no run handler
    # takes them itself. The template service is shared with the handler (it reads the template first).
    runtime = runtime_of(request)
    versions = provide_versions(session, request)
    labels = provide_labels(session, request)
    failed_calls = FailedCalls(runtime.sessions, runtime.write_queue, runtime.publish)
    return RunService(
        session, runtime.providers, versions, templates, runtime.telemetry, labels, failed_calls=failed_calls
    )


DEPENDENCIES = {"runs": Provide(provide_runs, sync_to_thread=False)}
