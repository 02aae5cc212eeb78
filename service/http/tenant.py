"""The tenant dependency: every route that acts in a tenant takes `tenant: TenantScope`, provided here from the API key
(auth on) and the `org_id` / `workspace_id` query parameters; a handler with a body adds the body's with
`tenant.named(...)`. One parameter type, so an empty or oversized tenant id is the same 400 everywhere."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.di import Provide
from litestar.params import Parameter

from service.auth.guard import current_principal
from service.auth.principal import TenantScope
from service.http.schemas import NO_NUL, TENANT_DESCRIPTION

TenantQuery = Annotated[
    str | None, Parameter(min_length=1, max_length=64, pattern=NO_NUL, description=TENANT_DESCRIPTION)
]


def provide_tenant(
    request: Request[Any, Any, Any], org_id: TenantQuery = None, workspace_id: TenantQuery = None
) -> TenantScope:
    return TenantScope(current_principal(request), org_id, workspace_id)


DEPENDENCIES = {"tenant": Provide(provide_tenant, sync_to_thread=False)}
