"""Diffs between two revisions of one prompt, and between two versions (body plus provider, model, params, identity).

The body diff is difflib's unified diff, computed by a matcher with an operation budget (service/diffs/budget.py): a
pair of bodies that would cost more is refused with 422 `diff_too_large` instead of burning seconds of CPU. It runs in
a worker thread so that even a diff within budget does not stall the event loop, and holds no database connection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from anyio import to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.engine import end_reads
from service.db.models import PromptTemplate, PromptVersion, is_storable_id
from service.diffs.budget import DEFAULT_BUDGET, DiffTooLarge, unified_text
from service.diffs.messages import MessageChange, chat_text, message_changes
from service.errors import NotFound, Unprocessable
from service.templates.service import TemplateService


def unified(old: str, new: str, *, old_name: str, new_name: str, budget: int = DEFAULT_BUDGET) -> str:
    """Raises DiffTooLarge when the bodies would cost more than `budget` matcher operations."""
    return unified_text(old, new, fromfile=old_name, tofile=new_name, budget=budget)[0]


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str  # provider, model_id, params.<name>, captured.<name>
    before: Any
    after: Any


@dataclass(frozen=True, slots=True)
class BodyDiff:
    before: PromptTemplate
    after: PromptTemplate
    unified: str
    variables_added: list[str]
    variables_removed: list[str]
    messages: list[MessageChange] = field(default_factory=list)  # chat templates: per message
    type_changed: bool = False
    input_schema_changed: bool = False


@dataclass(frozen=True, slots=True)
class VersionDiff:
    before: PromptVersion
    after: PromptVersion
    body: BodyDiff
    changes: list[FieldChange]


class DiffService:
    def __init__(self, session: AsyncSession, templates: TemplateService) -> None:
        self.session = session
        self.templates = templates

    async def templates_diff(self, template_id: int, against_id: int) -> BodyDiff:
        """From revision `against_id` to revision `template_id` (like `git diff against template`)."""
        after = await self.templates.get(template_id)
        before = await self.templates.get(against_id)
        return await self._body(before, after)

    async def versions_diff(self, version_id: int, against_id: int) -> VersionDiff:
        after, after_template = await self._version(version_id)
        before, before_template = await self._version(against_id)
        body = await self._body(before_template, after_template, what="versions")
        changes = [
            FieldChange(field, old, new)
            for field, old, new in (
                ("provider", before.provider, after.provider),
                ("model_id", before.model_id, after.model_id),
                *_dict_changes("params", before.params, after.params),
                *_dict_changes("captured", before.captured, after.captured),
                ("tools", before.tools, after.tools),
                ("tool_choice", before.tool_choice, after.tool_choice),
                ("response_format", before.response_format, after.response_format),
            )
            if old != new
        ]
        return VersionDiff(before, after, body, changes)

    async def _version(self, version_id: int) -> tuple[PromptVersion, PromptTemplate]:
        version = await self.session.get(PromptVersion, version_id) if is_storable_id(version_id) else None
        if version is not None:
            try:
                return version, await self.templates.get(version.template_id)  # the tenant check
            except NotFound:
                pass
        raise NotFound(f"No prompt version with id {version_id}.", code="version_not_found")

    async def _body(self, before: PromptTemplate, after: PromptTemplate, what: str = "templates") -> BodyDiff:
        if (before.org_id, before.workspace_id, before.name) != (after.org_id, after.workspace_id, after.name):
            raise Unprocessable(
                f"Only {what} of one prompt can be compared: {after.name!r} and {before.name!r} differ in name or "
                "workspace. Pass an id of another revision of the same name in `against`.",
                code="not_comparable",
            )
        # Both rows are loaded: hand the connection back before the diff queues for the matcher and computes, so
        # that parallel diffs cannot hold every pooled connection while other requests wait for one.
        await end_reads(self.session)
        try:
            text = await to_thread.run_sync(
                lambda: unified(
                    _text_of(before),
                    _text_of(after),
                    old_name=f"{before.name} revision {before.revision}",
                    new_name=f"{after.name} revision {after.revision}",
                )
            )
            changes: list[MessageChange] = []
            if before.messages or after.messages:
                changes = await to_thread.run_sync(lambda: message_changes(before.messages, after.messages))
        except DiffTooLarge as refused:
            raise Unprocessable(
                f"These two {what} differ in too many places to diff within the server's budget "
                f"({refused.budget} matcher operations). Compare revisions that are closer to each other, or fetch "
                "both bodies and diff them locally.",
                code="diff_too_large",
            ) from None
        return BodyDiff(
            before,
            after,
            text,
            variables_added=[name for name in after.variables if name not in before.variables],
            variables_removed=[name for name in before.variables if name not in after.variables],
            messages=changes,
            type_changed=(before.type or "text") != (after.type or "text"),
            input_schema_changed=before.input_schema != after.input_schema,
        )


def _text_of(template: PromptTemplate) -> str:
    """What the unified diff compares: the body of a text template, the messages of a chat one as text."""
    return chat_text(template.messages) if template.messages else template.body


def _dict_changes(prefix: str, before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    keys = sorted(set(before) | set(after))
    return [(f"{prefix}.{key}", before.get(key), after.get(key)) for key in keys]
