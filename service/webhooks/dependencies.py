"""The webhooks package's dependencies, mounted by service/app.py."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.guard import current_principal
from service.http.runtime import runtime_of
from service.webhooks.service import WebhookService
from service.webhooks.urls import UrlPolicy


def provide_webhooks(session: NamedDependency[AsyncSession], request: Request[Any, Any, Any]) -> WebhookService:
    settings = runtime_of(request).settings.webhooks
    return WebhookService(session, UrlPolicy(settings.allowed_host_list), current_principal(request))


DEPENDENCIES = {"webhooks": Provide(provide_webhooks, sync_to_thread=False)}
