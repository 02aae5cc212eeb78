"""The observations package's dependencies, mounted by service/app.py."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from service.http.runtime import runtime_of
from service.labels.service import LabelService
from service.observations.service import ObservationService
from service.versions.service import VersionService


def provide_observations(
    session: NamedDependency[AsyncSession],
    labels: NamedDependency[LabelService],
    versions: NamedDependency[VersionService],
    request: Request[Any, Any, Any],
) -> ObservationService:
    return ObservationService(session, labels, versions, runtime_of(request).telemetry)


DEPENDENCIES = {"observations": Provide(provide_observations, sync_to_thread=False)}
