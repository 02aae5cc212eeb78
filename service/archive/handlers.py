"""Archive and unarchive a prompt name, a revision or a version. Deleting a prompt name (admin, confirmed) is
`DELETE /api/prompts/{name}`, in service/labels/handlers.py: Litestar wants one controller per path."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, Parameter

from service.archive.schemas import PromptDeletionOut, PromptDeletionPage, PromptNameOut
from service.archive.service import RetireService
from service.auth.principal import TenantScope
from service.http.pagination import DEFAULT_LIMIT
from service.http.schemas import NO_NUL
from service.templates.schemas import TemplateOut
from service.versions.schemas import VersionOut

Name = Annotated[str, Parameter(min_length=1, max_length=200, pattern=NO_NUL, description="The prompt name.")]


class PromptRetireController(Controller):
    path = "/api/prompts/{name:str}"
    tags = ["archive"]

    @post("/archive", status_code=200, summary="Archive a prompt: hidden from lists (409 while labels point into it)")
    async def archive_name(
        self, name: Name, retire: NamedDependency[RetireService], tenant: NamedDependency[TenantScope]
    ) -> PromptNameOut:
        return PromptNameOut.of(await retire.archive_name(name, tenant=tenant))

    @post("/unarchive", status_code=200, summary="Unarchive a prompt: listed again")
    async def unarchive_name(
        self, name: Name, retire: NamedDependency[RetireService], tenant: NamedDependency[TenantScope]
    ) -> PromptNameOut:
        return PromptNameOut.of(await retire.unarchive_name(name, tenant=tenant))


class RevisionRetireController(Controller):
    path = "/api/prompt-templates/{template_id:int}"
    tags = ["archive"]

    @post("/archive", status_code=200, summary="Archive a revision (409 while a label points at one of its versions)")
    async def archive_revision(self, template_id: FromPath[int], retire: NamedDependency[RetireService]) -> TemplateOut:
        return TemplateOut.of(await retire.archive_revision(template_id, archived=True))

    @post("/unarchive", status_code=200, summary="Unarchive a revision")
    async def unarchive_revision(
        self, template_id: FromPath[int], retire: NamedDependency[RetireService]
    ) -> TemplateOut:
        return TemplateOut.of(await retire.archive_revision(template_id, archived=False))


class VersionRetireController(Controller):
    path = "/api/versions/{version_id:int}"
    tags = ["archive"]

    @post("/archive", status_code=200, summary="Archive a version (409 while a label points at it)")
    async def archive_version(self, version_id: FromPath[int], retire: NamedDependency[RetireService]) -> VersionOut:
        return VersionOut.of(await retire.archive_version(version_id, archived=True))

    @post("/unarchive", status_code=200, summary="Unarchive a version")
    async def unarchive_version(self, version_id: FromPath[int], retire: NamedDependency[RetireService]) -> VersionOut:
        return VersionOut.of(await retire.archive_version(version_id, archived=False))


class DeletionController(Controller):
    path = "/api/prompt-deletions"
    tags = ["archive"]

    @get("/", summary="The workspace's deleted prompts: who, when, why, what was removed, results kept; newest first")
    async def list_deletions(
        self,
        retire: NamedDependency[RetireService],
        tenant: NamedDependency[TenantScope],
        limit: Annotated[int, Parameter(ge=1, le=200)] = DEFAULT_LIMIT,
        cursor: Annotated[str | None, Parameter(max_length=200)] = None,
    ) -> PromptDeletionPage:
        page = await retire.deletions(tenant=tenant, limit=limit, cursor=cursor)
        return PromptDeletionPage([PromptDeletionOut.of(row) for row in page.items], page.next_cursor)


# The package's routes, mounted by service/app.py (its dependencies: service/archive/dependencies.py).
router = Router(
    path="/",
    route_handlers=[PromptRetireController, RevisionRetireController, VersionRetireController, DeletionController],
)
