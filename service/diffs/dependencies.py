"""The diffs package's dependencies, mounted by service/app.py."""

from __future__ import annotations

from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from service.diffs.service import DiffService
from service.templates.service import TemplateService


def provide_diffs(session: NamedDependency[AsyncSession], templates: NamedDependency[TemplateService]) -> DiffService:
    return DiffService(session, templates)


DEPENDENCIES = {"diffs": Provide(provide_diffs, sync_to_thread=False)}
