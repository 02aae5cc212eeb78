from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, Router, delete, get, post, put
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import Body, JSONBody, Parameter

from service.archive.schemas import PromptDeletionOut
from service.archive.service import RetireService
from service.auth.principal import TenantScope
from service.http.etag import conditional_json
from service.http.pagination import DEFAULT_LIMIT
from service.http.schemas import NO_NUL
from service.labels.schemas import (
    LabelEventOut,
    LabelEventPage,
    LabelList,
    LabelMove,
    LabelOut,
    LabelRollback,
    ResolvedPrompt,
)
from service.labels.service import LabelService
from service.vocabulary import LABEL_PATTERN

Name = Annotated[str, Parameter(min_length=1, max_length=200, pattern=NO_NUL, description="The template name.")]
# The label rule itself as the documented pattern: a name the schema allows is one the service accepts.
LABEL_NAME = f"^{LABEL_PATTERN.pattern}$"
Label = Annotated[
    str,
    Parameter(min_length=1, max_length=64, pattern=LABEL_NAME, description="Label name: [a-z0-9][a-z0-9_.-]{0,63}."),
]


class PromptController(Controller):
    path = "/api/prompts"
    tags = ["labels"]

    @get(
        "/{name:str}",
        summary="Resolve a prompt by name + label (default production) or version_id; ETag / If-None-Match → 304",
        responses={
            200: ResponseSpec(ResolvedPrompt, description="The resolved prompt, with a strong ETag."),
            304: ResponseSpec(None, description="If-None-Match matched the current ETag: no body."),
        },
    )
    async def resolve(
        self,
        request: Request[Any, Any, Any],
        name: Name,
        labels: NamedDependency[LabelService],
        tenant: NamedDependency[TenantScope],
        label: Annotated[str | None, Parameter(min_length=1, max_length=64, pattern=LABEL_NAME)] = None,
        version_id: Annotated[int | None, Parameter(ge=1, le=2**63 - 1)] = None,
        key: Annotated[
            str | None,
            Parameter(
                min_length=1,
                max_length=200,
                pattern=NO_NUL,
                description="A split label's sticky key (user or session id): one key always gets one arm.",
            ),
        ] = None,
    ) -> Response[ResolvedPrompt]:
        target, resolved_label = await labels.resolve(name, tenant=tenant, label=label, version_id=version_id, key=key)
        resolved = ResolvedPrompt.of(target, resolved_label)
        return conditional_json(resolved, request.headers.get("if-none-match"), resolved.etag_basis(target))

    @get("/{name:str}/labels", summary="Every label of a prompt with its target (`latest` included)")
    async def list_labels(
        self,
        name: Name,
        labels: NamedDependency[LabelService],
        tenant: NamedDependency[TenantScope],
    ) -> LabelList:
        found = await labels.list(name, tenant=tenant)
        return LabelList([LabelOut.of(target, label, protected=labels.is_protected(label)) for target, label in found])

    @put(
        "/{name:str}/labels/{label:str}",
        summary="Point a label at a version, or at a weighted split with an optional rollout policy (records an event)",
    )
    async def move_label(
        self,
        name: Name,
        label: Label,
        data: JSONBody[LabelMove],
        labels: NamedDependency[LabelService],
        tenant: NamedDependency[TenantScope],
    ) -> LabelOut:
        target = await labels.put(
            name,
            label,
            tenant=tenant.named(data.org_id, data.workspace_id),
            version_id=data.version_id,
            arms=data.arms(),
            policy=data.policy.command() if data.policy is not None else None,
            reason=data.reason,
        )
        return LabelOut.of(target, label, protected=labels.is_protected(label))

    @delete("/{name:str}/labels/{label:str}", status_code=204, summary="Delete a label (records an event)")
    async def delete_label(
        self,
        name: Name,
        label: Label,
        labels: NamedDependency[LabelService],
        tenant: NamedDependency[TenantScope],
        reason: Annotated[str | None, Parameter(max_length=1000, pattern=NO_NUL)] = None,
    ) -> None:
        await labels.delete(name, label, tenant=tenant, reason=reason)

    @get("/{name:str}/labels/{label:str}/history", summary="A label's moves, rollbacks and deletes, newest first")
    async def label_history(
        self,
        name: Name,
        label: Label,
        labels: NamedDependency[LabelService],
        tenant: NamedDependency[TenantScope],
        limit: Annotated[int, Parameter(ge=1, le=200)] = DEFAULT_LIMIT,
        cursor: Annotated[str | None, Parameter(max_length=200)] = None,
    ) -> LabelEventPage:
        page = await labels.history(name, label, tenant=tenant, limit=limit, cursor=cursor)
        return LabelEventPage([LabelEventOut.of(row) for row in page.items], page.next_cursor)

    @post(
        "/{name:str}/labels/{label:str}/rollback",
        status_code=200,
        summary="Move a label back to its target before its latest move not yet rolled back (409 when none)",
    )
    async def rollback_label(
        self,
        name: Name,
        label: Label,
        labels: NamedDependency[LabelService],
        tenant: NamedDependency[TenantScope],
        data: Annotated[LabelRollback | None, Body()] = None,
    ) -> LabelOut:
        data = data or LabelRollback()
        target = await labels.rollback(
            name,
            label,
            tenant=tenant.named(data.org_id, data.workspace_id),
            reason=data.reason,
        )
        return LabelOut.of(target, label, protected=labels.is_protected(label))

    @delete(
        "/{name:str}",
        status_code=200,
        summary="Delete a prompt with every revision, version and label (admin; ?confirm=<name>); results are kept",
    )
    async def delete_name(
        self,
        name: Name,
        retire: NamedDependency[RetireService],
        tenant: NamedDependency[TenantScope],
        confirm: Annotated[
            str | None,
            Parameter(max_length=200, pattern=NO_NUL, description="The prompt's name again: deleting is not undoable."),
        ] = None,
        reason: Annotated[str | None, Parameter(max_length=1000, pattern=NO_NUL)] = None,
    ) -> PromptDeletionOut:
        return PromptDeletionOut.of(await retire.delete_name(name, tenant=tenant, confirm=confirm, reason=reason))


# The package's routes, mounted by service/app.py (its dependencies: service/labels/dependencies.py).
router = Router(path="/", route_handlers=[PromptController])
