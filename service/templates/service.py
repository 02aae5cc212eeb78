"""Templates: create (dedup by the DB's unique constraint, revisions per name), get and list."""

from __future__ import annotations

# `builtins.list` in annotations: this class has a method named `list`, which shadows the builtin inside it.
import builtins
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.principal import Principal, TenantScope
from service.db.engine import IntegrityConflict, emit
from service.db.models import PromptTemplate, is_storable_id
from service.db.pagination import Page, check_limit, decode_cursor, page_of
from service.errors import Duplicate, InvalidInput, NotFound
from service.settings import Settings
from service.templates.chat import (
    CHAT,
    TemplateContent,
    chat_variables,
    check_placeholders_vs_variables,
    invalid,
    placeholder_names,
    render_messages,
    template_hash,
    validate_messages,
)
from service.templates.names import check_new_name
from service.templates.rendering import parse_variables, render
from service.templates.repository import NameSummary, TemplateRepository
from service.templates.typed import check_user_schema, check_variables
from service.webhooks.outbox import add_event, prompt_subject
from telemetry import Telemetry
from telemetry.events import PromptListChanged

TABLE = "prompt_templates"


@dataclass(frozen=True, slots=True)
class TemplateDraft:
    """A template to create, as the handler read it from the request."""

    name: str
    body: str | None
    description: str | None = None
    type: str = "text"
    messages: list[dict[str, Any]] | None = None  # chat templates (service/templates/chat.py validates them)
    input_schema: dict[str, Any] | None = None


# Two concurrent creates of new bodies under one name can pick the same revision number; the loser retries.
REVISION_ATTEMPTS = 5


class TemplateService:
    def __init__(
        self, session: AsyncSession, telemetry: Telemetry, settings: Settings, principal: Principal | None = None
    ) -> None:
        self.repo = TemplateRepository(session)
        self.telemetry = telemetry
        self.settings = settings
        self.principal = principal

    def render(self, template: PromptTemplate, values: dict[str, Any]) -> str:
        """The prompt for `values`, refused (422 rendered_prompt_too_large) before it is built when it would exceed
        PROMPTER_MAX_RENDERED_BYTES."""
        return render(template.body, values, max_bytes=self.settings.limits.max_rendered_bytes)

    def render_chat(self, template: PromptTemplate, values: dict[str, Any]) -> list[dict[str, Any]]:
        """The rendered messages (placeholders filled from `values`), under the same PROMPTER_MAX_RENDERED_BYTES."""
        return render_messages(template.messages or [], values, max_bytes=self.settings.limits.max_rendered_bytes)

    def check_values(self, template: PromptTemplate, values: dict[str, Any]) -> list[str]:
        """422 invalid_variables when the template has an input_schema the values break; the missing variables."""
        if template.input_schema is not None:
            check_variables(template.input_schema, values, placeholder_names(template.messages or []))
        return [name for name in template.variables if name not in values]

    def content(self, type_: str, body: str | None, messages: Any, input_schema: Any) -> TemplateContent:
        """A template as stored, validated: 400 naming the path for anything malformed, before anything is stored."""
        limits = self.settings.limits
        if input_schema is not None:
            input_schema = check_user_schema(input_schema, "input_schema", max_bytes=limits.max_schema_bytes)
        if type_ == CHAT:
            if body is not None:
                raise invalid("body", "a chat template has `messages`, not a `body`")
            checked = validate_messages(messages, max_messages=limits.max_messages)
            text_size = sum(len(m.get("content", "").encode("utf-8")) for m in checked)
            self._check_size(text_size)
            variables = chat_variables(checked)
            self._check_count(variables)
            check_placeholders_vs_variables(checked, variables)
            return TemplateContent(
                CHAT, "", checked, input_schema, variables, template_hash(CHAT, "", checked, input_schema)
            )
        if messages is not None:
            raise invalid("messages", 'only chat templates have messages: send "type": "chat"')
        if body is None:
            raise invalid("body", "a text template needs a non-empty `body`")
        variables = self._validated_variables(body)
        return TemplateContent(
            "text", body, None, input_schema, variables, template_hash("text", body, None, input_schema)
        )

    async def create(self, data: TemplateDraft, *, tenant: TenantScope) -> PromptTemplate:
        org_id, workspace_id = tenant.pair()
        content = self.content(data.type, data.body, data.messages, data.input_schema)
        variables, digest = content.variables, content.content_hash
        name = await self._name_for_create(org_id, workspace_id, data.name)
        for _ in range(REVISION_ATTEMPTS):
            revision = await self.repo.next_revision(org_id, workspace_id, name)
            row = PromptTemplate(
                org_id=org_id,
                workspace_id=workspace_id,
                name=name,
                description=data.description,
                body=content.body,
                type=content.type,
                messages=content.messages,
                input_schema=content.input_schema,
                variables=variables,
                content_hash=digest,
                revision=revision,
            )
            try:
                created = await self.repo.insert(row)
            except IntegrityConflict:
                existing = await self.repo.find_identity(org_id, workspace_id, name, digest)
                if existing is not None:
                    self.telemetry.record_db_unique(TABLE)
                    raise Duplicate(
                        f"Template {name!r} with this exact content already exists in workspace "
                        f"{workspace_id!r} (id {existing.id}, revision {existing.revision}). Change the body to "
                        "create a new revision, or use the existing id.",
                        code="duplicate_template",
                        existing_id=existing.id,
                    ) from None
                continue
            await add_event(
                self.repo.session,
                org_id=org_id,
                workspace_id=workspace_id,
                type="prompt.revision_created",
                subject=prompt_subject(name),
                data={
                    "prompt": name,
                    "template_id": created.id,
                    "revision": created.revision,
                    "type": created.type,
                    "content_hash": created.content_hash,
                },
            )
            emit(self.repo.session, PromptListChanged(org_id, workspace_id, name))
            return created
        raise Duplicate(
            f"Could not allocate a revision for {data.name!r} under concurrent writes; retry the request.",
            code="revision_conflict",
        )

    async def _name_for_create(self, org_id: str, workspace_id: str, name: str) -> str:
        """The name rule (templates/names.py) for a new name; an existing name is kept exactly as it is stored."""
        refusal: InvalidInput | None = None
        try:
            normal = check_new_name(name)
        except InvalidInput as error:
            refusal, normal = error, name
        if refusal is None and normal == name:
            return name
        if await self.repo.next_revision(org_id, workspace_id, name) > 1:
            return name  # stored before the rule: its revisions keep working
        if refusal is not None:
            raise refusal
        return normal

    def _validated_variables(self, body: str) -> list[str]:
        self._check_size(len(body.encode("utf-8")))
        variables = parse_variables(body)
        self._check_count(variables)
        return variables

    def _check_size(self, size: int) -> None:
        if size > self.settings.limits.max_template_bytes:
            raise InvalidInput(
                f"Template body is {size} bytes; the limit is {self.settings.limits.max_template_bytes} "
                "(PROMPTER_MAX_TEMPLATE_BYTES). Split the prompt or raise the limit.",
                code="template_too_large",
            )

    def _check_count(self, variables: list[str]) -> None:
        if len(variables) > self.settings.limits.max_variables:
            raise InvalidInput(
                f"Template has {len(variables)} distinct variables; the limit is {self.settings.limits.max_variables} "
                "(PROMPTER_MAX_VARIABLES).",
                code="too_many_variables",
            )

    async def get(self, template_id: int) -> PromptTemplate:
        template = await self.repo.get(template_id) if is_storable_id(template_id) else None
        # Another tenant's template answers exactly like a missing one: existence must not leak.
        if template is None or (self.principal and not self.principal.owns(template.org_id, template.workspace_id)):
            raise NotFound(f"No prompt template with id {template_id}.", code="template_not_found")
        return template

    async def list(
        self,
        *,
        tenant: TenantScope,
        name: str | None,
        limit: int,
        cursor: str | None,
        include_archived: bool = False,
    ) -> Page[PromptTemplate]:
        org_id, workspace_id = tenant.optional()
        rows = await self.repo.list(
            org_id=org_id,
            workspace_id=workspace_id,
            name=name,
            before_id=decode_cursor(cursor),
            limit=check_limit(limit) + 1,
            include_archived=include_archived,
        )
        return page_of(rows, limit)

    async def list_names(
        self,
        *,
        tenant: TenantScope,
        search: str | None,
        after: str | None,
        limit: int,
        include_archived: bool = False,
    ) -> tuple[builtins.list[NameSummary], dict[tuple, datetime]]:
        """A page of prompt names (limit + 1 rows fetched: the caller learns whether more exist) and their last runs."""
        org_id, workspace_id = tenant.optional()
        names = await self.repo.list_names(
            org_id=org_id,
            workspace_id=workspace_id,
            search=search,
            after=after,
            limit=check_limit(limit) + 1,
            include_archived=include_archived,
        )
        last_runs = await self.repo.last_runs(org_id, workspace_id, [row.name for row in names]) if names else {}
        return names, last_runs

    async def workspaces(self, *, limit: int) -> builtins.list[tuple[str, str]]:
        """The workspaces that hold prompts: the key's own with auth on, every one with auth off."""
        if self.principal is not None:
            return [(self.principal.org_id, self.principal.workspace_id)]
        return await self.repo.workspaces(limit=check_limit(limit))

    async def revisions(
        self, name: str, *, tenant: TenantScope, limit: int, include_archived: bool = True
    ) -> builtins.list[PromptTemplate]:
        """The newest revisions of one name, newest first; an unknown name (or another tenant's) is a 404."""
        org_id, workspace_id = tenant.pair()
        rows = await self.repo.revisions(org_id, workspace_id, name, limit=limit, include_archived=include_archived)
        if not rows and not include_archived and await self.repo.revisions(org_id, workspace_id, name, limit=1):
            return []  # every revision is archived
        if not rows:
            raise NotFound(f"No prompt named {name!r} in this workspace.", code="template_not_found")
        return rows

    async def ids_of_name(self, name: str, *, tenant: TenantScope) -> builtins.list[int]:
        org_id, workspace_id = tenant.optional()
        return await self.repo.ids_of_name(org_id, workspace_id, name)
