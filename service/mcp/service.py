"""The workspace's prompts as an MCP prompt registry: which prompts are listed (one entry per label), what arguments
each takes, and the messages a prompt renders to. Domain only: the MCP wire types are service/mcp/server.py's.

Naming. An entry is called after the prompt and the label it resolves through: `greet` is `greet` through
`production` (the default label), `greet@staging` through `staging`, and `greet@latest` the newest version of the
newest revision. A prompt is listed once per stored label it has; a prompt with versions but no label at all is listed
as `name@latest`; a prompt without any version is not listed (nothing resolves it yet). A prompt whose own name
contains `@` is still got by its plain name: the suffix is only a label when the part before it names a prompt.

Roles. MCP prompt messages are `user` or `assistant`. A text prompt renders to one user message; a chat prompt's
`system` and `developer` messages become `user` messages (marked with their original role), placeholder messages are
filled from a JSON list of messages given as the argument of that name.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from service.auth.principal import TenantScope
from service.db.models import PromptTemplate
from service.errors import InvalidInput, NotFound, Unprocessable
from service.labels.repository import Target
from service.labels.service import LabelService
from service.templates.chat import CHAT, placeholder_names
from service.templates.service import TemplateService
from service.vocabulary import DEFAULT_LABEL, LABEL_PATTERN, LATEST

# Prompt names per page of prompts/list (each name gives one entry per label).
PAGE_SIZE = 50
LABEL_SEPARATOR = "@"
# MCP has no system role: these are sent as user messages, with the original role in the message's `_meta`.
USER_ROLES = frozenset({"system", "developer", "user"})


@dataclass(frozen=True, slots=True)
class PromptArgument:
    name: str
    required: bool
    description: str


@dataclass(frozen=True, slots=True)
class PromptEntry:
    """One listed prompt: `mcp_name` is what the client passes to prompts/get."""

    mcp_name: str
    name: str
    label: str
    description: str
    arguments: list[PromptArgument]


@dataclass(frozen=True, slots=True)
class PromptPage:
    entries: list[PromptEntry]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    role: str  # "user" or "assistant"
    text: str
    original_role: str


@dataclass(frozen=True, slots=True)
class RenderedPrompt:
    entry: PromptEntry
    messages: list[RenderedMessage]
    version_id: int
    revision: int


def mcp_name(name: str, label: str) -> str:
    return name if label == DEFAULT_LABEL else f"{name}{LABEL_SEPARATOR}{label}"


def encode_cursor(after: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": after}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        after = decoded["after"]
    except (ValueError, TypeError, KeyError, binascii.Error):
        after = None
    if not isinstance(after, str):
        raise InvalidInput(
            "Malformed cursor. Pass the nextCursor of a previous prompts/list answer unchanged, or omit it.",
            code="invalid_cursor",
        )
    return after


class McpPromptService:
    def __init__(self, templates: TemplateService, labels: LabelService) -> None:
        self.templates = templates
        self.labels = labels

    async def list_page(self, *, tenant: TenantScope, cursor: str | None, limit: int = PAGE_SIZE) -> PromptPage:
        names, _ = await self.templates.list_names(tenant=tenant, search=None, after=decode_cursor(cursor), limit=limit)
        more = len(names) > limit
        names = names[:limit]
        org_id, workspace_id = tenant.pair()
        stored: dict[str, list[Target]] = {}
        if names:
            for target in await self.labels.repo.list_labels_of_names(org_id, workspace_id, [n.name for n in names]):
                assert target.label is not None
                stored.setdefault(target.label.name, []).append(target)
        entries: list[PromptEntry] = []
        for row in names:
            labelled = stored.get(row.name)
            if labelled:
                # production first: it is the entry called by the plain name.
                labelled.sort(key=lambda t: (t.label.label != DEFAULT_LABEL, t.label.label))  # type: ignore[union-attr]
                entries.extend(_entry(row.name, t.label.label, t.template) for t in labelled)  # type: ignore[union-attr]
                continue
            latest = await self.labels.repo.resolve_latest(org_id, workspace_id, row.name)
            if latest is not None:
                entries.append(_entry(row.name, LATEST, latest.template))
        return PromptPage(entries, encode_cursor(names[-1].name) if more and names else None)

    async def get(self, requested: str, arguments: dict[str, str], *, tenant: TenantScope) -> RenderedPrompt:
        target, name, label = await self._resolve(requested, tenant=tenant)
        template = target.template
        entry = _entry(name, label, template)
        values = _values(template, arguments)
        unknown = sorted(set(arguments) - {a.name for a in entry.arguments})
        if unknown:
            raise Unprocessable(
                f"Prompt {requested!r} has no argument {unknown[0]!r}; its arguments are: "
                f"{', '.join(a.name for a in entry.arguments) or 'none'}.",
                code="unknown_arguments",
                unknown=unknown,
            )
        missing = self.templates.check_values(template, values)
        if missing:
            raise Unprocessable(
                f"Missing arguments for prompt {requested!r}: {', '.join(missing)}. Give a value for each.",
                code="missing_variables",
                missing=missing,
            )
        if template.type == CHAT:
            messages = [
                RenderedMessage("user" if m["role"] in USER_ROLES else "assistant", m["content"], m["role"])
                for m in self.templates.render_chat(template, values)
            ]
        else:
            messages = [RenderedMessage("user", self.templates.render(template, values), "user")]
        return RenderedPrompt(entry, messages, target.version.id, template.revision)

    async def _resolve(self, requested: str, *, tenant: TenantScope) -> tuple[Target, str, str]:
        name, sep, label = requested.rpartition(LABEL_SEPARATOR)
        if sep and name and LABEL_PATTERN.fullmatch(label):
            try:
                target, _ = await self.labels.resolve(name, tenant=tenant, label=label)
                return target, name, label
            except NotFound as error:
                if error.code != "template_not_found":
                    raise _not_listed(requested, error) from None
            # No prompt is called `name`: the `@` is part of the prompt's own name.
        try:
            target, _ = await self.labels.resolve(requested, tenant=tenant, label=DEFAULT_LABEL)
        except NotFound as error:
            raise _not_listed(requested, error) from None
        return target, requested, DEFAULT_LABEL


def _not_listed(requested: str, error: NotFound) -> NotFound:
    if error.code == "template_not_found":
        detail = f"No prompt {requested!r} in this workspace. prompts/list shows the prompts you can get."
    else:
        detail = (
            f"{error.detail} Ask for `<name>@<label>` (e.g. `{requested.partition(LABEL_SEPARATOR)[0]}@latest`) or "
            "use prompts/list."
        )
    return NotFound(detail, code=error.code)


def _entry(name: str, label: str, template: PromptTemplate) -> PromptEntry:
    return PromptEntry(
        mcp_name=mcp_name(name, label),
        name=name,
        label=label,
        description=_description(template, label),
        arguments=_arguments(template),
    )


def _description(template: PromptTemplate, label: str) -> str:
    own = (template.description or "").strip()
    where = f"{template.name} revision {template.revision} ({template.type} prompt), through label {label}."
    return f"{own} ({where})" if own else where


def _arguments(template: PromptTemplate) -> list[PromptArgument]:
    properties = (template.input_schema or {}).get("properties") or {}
    arguments = []
    for variable in template.variables:
        schema = properties.get(variable) if isinstance(properties, dict) else None
        described = schema.get("description") if isinstance(schema, dict) else None
        kind = _json_type(schema)
        hint = f" (JSON {kind})" if kind not in (None, "string") else ""
        arguments.append(PromptArgument(variable, True, (described or f"Value of {{{{ {variable} }}}}") + hint))
    for placeholder in placeholder_names(template.messages or []):
        arguments.append(
            PromptArgument(
                placeholder,
                False,
                'Messages inserted here: a JSON list of {"role": "user"|"assistant"|"system", "content": "..."}.',
            )
        )
    return arguments


def _json_type(schema: Any) -> str | None:
    kind = schema.get("type") if isinstance(schema, dict) else None
    return kind if isinstance(kind, str) else None


def _values(template: PromptTemplate, arguments: dict[str, str]) -> dict[str, Any]:
    """MCP arguments are strings. A typed variable (input_schema `type` other than string) and a placeholder's
    messages are given as JSON and parsed; a string variable is taken as it is."""
    properties = (template.input_schema or {}).get("properties") or {}
    placeholders = set(placeholder_names(template.messages or []))
    values: dict[str, Any] = {}
    for key, raw in arguments.items():
        kind = _json_type(properties.get(key)) if isinstance(properties, dict) else None
        if key in placeholders or kind not in (None, "string"):
            try:
                values[key] = json.loads(raw)
            except (TypeError, ValueError):
                what = "a JSON list of messages" if key in placeholders else f"JSON ({kind})"
                raise Unprocessable(
                    f"Argument {key!r} must be {what}; got {str(raw)[:60]!r}.", code="invalid_variables", path=key
                ) from None
        else:
            values[key] = raw
    return values
