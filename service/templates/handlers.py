from __future__ import annotations

from typing import Annotated

from litestar import Controller, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter

from service.auth.principal import TenantScope
from service.http.pagination import DEFAULT_LIMIT
from service.http.schemas import NO_NUL
from service.idempotency import IdempotencyKeyHeader, IdempotencyService
from service.templates.schemas import TemplateCreate, TemplateOut, TemplatePage
from service.templates.service import TemplateService


class TemplateController(Controller):
    path = "/api/prompt-templates"
    tags = ["templates"]

    @post("/", status_code=201, summary="Create a template (409 when the same name and body exist)")
    async def create_template(
        self,
        data: JSONBody[TemplateCreate],
        templates: NamedDependency[TemplateService],
        idempotency: NamedDependency[IdempotencyService],
        tenant: NamedDependency[TenantScope],
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> TemplateOut:
        async def create() -> TemplateOut:
            return TemplateOut.of(
                await templates.create(data.draft(), tenant=tenant.named(data.org_id, data.workspace_id))
            )

        return await idempotency.once(idempotency_key, data, create)

    @get("/", summary="List templates, newest first (archived ones only with include_archived=true)")
    async def list_templates(
        self,
        templates: NamedDependency[TemplateService],
        tenant: NamedDependency[TenantScope],
        name: Annotated[str | None, Parameter(max_length=200, pattern=NO_NUL)] = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = DEFAULT_LIMIT,
        cursor: Annotated[str | None, Parameter(max_length=200)] = None,
        include_archived: Annotated[
            bool, Parameter(description="Also list archived revisions and revisions of archived prompts.")
        ] = False,
    ) -> TemplatePage:
        page = await templates.list(
            tenant=tenant, name=name, limit=limit, cursor=cursor, include_archived=include_archived
        )
        return TemplatePage([TemplateOut.of(row) for row in page.items], page.next_cursor)

    @get("/{template_id:int}", summary="Get one template")
    async def get_template(
        self, template_id: FromPath[int], templates: NamedDependency[TemplateService]
    ) -> TemplateOut:
        return TemplateOut.of(await templates.get(template_id))


# The package's routes, mounted by service/app.py (its dependencies: service/templates/dependencies.py).
router = Router(path="/", route_handlers=[TemplateController])
