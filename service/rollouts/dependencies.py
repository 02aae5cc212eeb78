"""The rollouts package's dependencies, mounted by service/app.py."""

from __future__ import annotations

from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from service.labels.service import LabelService
from service.rollouts.service import RolloutService


def provide_rollouts(session: NamedDependency[AsyncSession], labels: NamedDependency[LabelService]) -> RolloutService:
    return RolloutService(session, labels)


DEPENDENCIES = {"rollouts": Provide(provide_rollouts, sync_to_thread=False)}
