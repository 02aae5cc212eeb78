"""The labels package's dependencies, mounted by service/app.py."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.guard import current_principal
from service.http.runtime import runtime_of
from service.labels.service import LabelService


def provide_labels(session: NamedDependency[AsyncSession], request: Request[Any, Any, Any]) -> LabelService:
    runtime = runtime_of(request)
    protected = runtime.settings.auth.protected_label_set
    return LabelService(
        session,
        runtime.telemetry,
        protected,
        current_principal(request),
        rollout_min_interval_s=runtime.settings.rollouts.min_interval_s,
    )


DEPENDENCIES = {"labels": Provide(provide_labels, sync_to_thread=False)}
