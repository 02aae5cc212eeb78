from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody, Parameter

from service.db.transactions import READS_FIRST
from service.http.schemas import generation_params
from service.templates.service import TemplateService
from service.versions.schemas import EnsureVersionRequest, VersionList, VersionOut
from service.versions.service import VersionService


class VersionController(Controller):
    path = "/api/prompt-templates/{template_id:int}"
    tags = ["versions"]

    @post(
        "/ensure-version",
        status_code=201,
        summary="Probe the provider and return the version pinned to what it reports (201 created, 200 existing)",
        responses={200: ResponseSpec(VersionOut, description="The version already existed (`created: false`).")},
        opt={READS_FIRST: True},
    )
    async def ensure_version(
        self,
        template_id: FromPath[int],
        data: JSONBody[EnsureVersionRequest],
        templates: NamedDependency[TemplateService],
        versions: NamedDependency[VersionService],
    ) -> Response[VersionOut]:
        template = await templates.get(template_id)
        bundle = versions.bundle(data.tools, data.tool_choice, data.response_format)
        version, created = await versions.ensure(
            template, data.provider, data.model_id, generation_params(data.params), refresh=data.refresh, bundle=bundle
        )
        return Response(VersionOut.of(version, created=created), status_code=201 if created else 200)

    @get(
        "/versions", summary="List a template's versions, newest first (archived ones only with include_archived=true)"
    )
    async def list_versions(
        self,
        template_id: FromPath[int],
        templates: NamedDependency[TemplateService],
        versions: NamedDependency[VersionService],
        include_archived: Annotated[bool, Parameter(description="Also list archived versions.")] = False,
    ) -> VersionList:
        template = await templates.get(template_id)
        rows = await versions.list_for_template(template, include_archived=include_archived)
        return VersionList([VersionOut.of(row) for row in rows])


# The package's routes, mounted by service/app.py (its dependencies: service/versions/dependencies.py).
router = Router(path="/", route_handlers=[VersionController])
