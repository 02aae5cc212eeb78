"""The editor's and the pin form's fields as a browser posts them, and back.

Forms are plain HTML: a chat prompt's messages are numbered fields (`m0_role`, `m0_content`, ...), and the buttons that
add, remove and reorder messages submit the whole form with an `action` (`add`, `remove:2`, `up:2`, ...), so editing
works without a script. JSON fields (input schema, params, tools, tool choice, response schema) are textareas; what
they hold is parsed here and then validated by the very request schemas and services the API uses. An error is kept
by field so the page shows it beside that field."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from service.templates.chat import PLACEHOLDER_TYPE

MAX_FORM_MESSAGES = 200  # a form with more rows is refused before anything is parsed (PROMPTER_MAX_MESSAGES is lower)
ROW = re.compile(r"^m(\d{1,3})_(kind|role|content|name)$")


class FormError(Exception):
    """The form as posted cannot become a request (JSON that does not parse, too many rows): shown beside `field`."""

    def __init__(self, field_name: str, detail: str) -> None:
        super().__init__(detail)
        self.field = field_name
        self.detail = detail


@dataclass(frozen=True, slots=True)
class MessageRow:
    kind: str = "message"  # "message" | "placeholder"
    role: str = "user"
    content: str = ""
    name: str = ""

    def as_message(self) -> dict[str, Any]:
        if self.kind == PLACEHOLDER_TYPE:
            return {"type": PLACEHOLDER_TYPE, "name": self.name.strip()}
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True, slots=True)
class PinFields:
    """A version to pin: provider, model, params and the bundle, as typed."""

    provider: str = ""
    model_id: str = ""
    params: str = ""
    tools: str = ""
    tool_choice: str = ""
    response_name: str = ""
    response_schema: str = ""

    @property
    def wanted(self) -> bool:
        return bool(self.model_id.strip())

    def request(self) -> dict[str, Any]:
        """The body an ensure-version request would carry (read by the API's own schema next)."""
        body: dict[str, Any] = {"provider": self.provider, "model_id": self.model_id.strip()}
        for name, text in (("params", self.params), ("tools", self.tools)):
            if text.strip():
                body[name] = parse_json(name, text)
        choice = self.tool_choice.strip()
        if choice:
            body["tool_choice"] = parse_json("tool_choice", choice) if choice.startswith("{") else choice
        if self.response_schema.strip():
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": self.response_name.strip() or "response",
                    "schema": parse_json("response_schema", self.response_schema),
                },
            }
        return body

    @classmethod
    def of(cls, form: Mapping[str, str], prefix: str = "") -> PinFields:
        return cls(**{name: form.get(f"{prefix}{name}", "") for name in cls.__dataclass_fields__})

    def query(self, prefix: str) -> dict[str, str]:
        """The fields that are set, as query parameters (the playground's address keeps a side's model)."""
        return {f"{prefix}{name}": value for name in self.__dataclass_fields__ if (value := getattr(self, name))}

    @classmethod
    def of_bundle(
        cls, provider: str, model_id: str, params: Any, tools: Any, tool_choice: Any, response: Any
    ) -> PinFields:
        """Prefilled from a pinned version (the pin form starts from the newest one)."""
        spec = (response or {}).get("json_schema") or {}
        return cls(
            provider=provider,
            model_id=model_id,
            params=pretty(params) if params else "",
            tools=pretty(tools) if tools else "",
            tool_choice=(tool_choice if isinstance(tool_choice, str) else pretty(tool_choice)) if tool_choice else "",
            response_name=spec.get("name", ""),
            response_schema=pretty(spec["schema"]) if "schema" in spec else "",
        )


@dataclass(frozen=True, slots=True)
class EditorForm:
    name: str = ""
    description: str = ""
    type: str = "chat"
    body: str = ""
    messages: tuple[MessageRow, ...] = ()
    input_schema: str = ""
    base_id: int = 0  # the revision an edit started from (0: a new prompt)
    previewed: str = ""  # the content hash the person saw in the diff preview
    pin: PinFields = field(default_factory=PinFields)

    def request(self) -> dict[str, Any]:
        """The body a create request would carry (read by the API's own TemplateCreate next)."""
        body: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.description.strip():
            body["description"] = self.description
        if self.type == "chat":
            body["messages"] = [row.as_message() for row in self.messages]
        else:
            body["body"] = self.body
        if self.input_schema.strip():
            body["input_schema"] = parse_json("input_schema", self.input_schema)
        return body

    def apply(self, action: str) -> EditorForm:
        """The form after one of its editing buttons (unknown actions change nothing)."""
        rows = list(self.messages)
        verb, _, where = action.partition(":")
        if verb == "add":
            rows.append(MessageRow(role="user" if rows else "system"))
        elif verb == "add-placeholder":
            rows.append(MessageRow(kind=PLACEHOLDER_TYPE, name="history"))
        elif verb in ("remove", "up", "down") and where.isdigit() and int(where) < len(rows):
            index = int(where)
            if verb == "remove":
                del rows[index]
            elif verb == "up" and index > 0:
                rows[index - 1], rows[index] = rows[index], rows[index - 1]
            elif verb == "down" and index + 1 < len(rows):
                rows[index + 1], rows[index] = rows[index], rows[index + 1]
        elif verb == "type" and where in ("text", "chat"):
            return replace(self, type=where, messages=tuple(rows) or (MessageRow(role="system"), MessageRow()))
        return replace(self, messages=tuple(rows), previewed="")

    @classmethod
    def of(cls, form: Mapping[str, str]) -> EditorForm:
        rows: dict[int, dict[str, str]] = {}
        for key, value in form.items():
            match = ROW.match(key)
            if match:
                rows.setdefault(int(match.group(1)), {})[match.group(2)] = value
        if len(rows) > MAX_FORM_MESSAGES:
            raise FormError("messages", f"{len(rows)} messages; a form takes at most {MAX_FORM_MESSAGES}")
        messages = tuple(
            MessageRow(
                kind=PLACEHOLDER_TYPE if row.get("kind") == PLACEHOLDER_TYPE else "message",
                role=row.get("role", "user"),
                content=row.get("content", "").replace("\r\n", "\n"),
                name=row.get("name", ""),
            )
            for _, row in sorted(rows.items())
        )
        base = form.get("base_id", "0")
        return cls(
            name=form.get("name", "").strip(),
            description=form.get("description", ""),
            type="text" if form.get("type") == "text" else "chat",
            body=form.get("body", "").replace("\r\n", "\n"),
            messages=messages,
            input_schema=form.get("input_schema", ""),
            base_id=int(base) if base.isdigit() and len(base) < 19 else 0,
            previewed=form.get("previewed", ""),
            pin=PinFields.of(form),
        )

    @classmethod
    def of_template(cls, template: Any) -> EditorForm:
        """Prefilled from a stored revision: the start of its next one."""
        return cls(
            name=template.name,
            description=template.description or "",
            type=template.type or "text",
            body=template.body if (template.type or "text") == "text" else "",
            messages=tuple(
                MessageRow(kind=PLACEHOLDER_TYPE, name=m["name"])
                if m.get("type") == PLACEHOLDER_TYPE
                else MessageRow(role=m["role"], content=m["content"])
                for m in template.messages or []
            ),
            input_schema=pretty(template.input_schema) if template.input_schema else "",
            base_id=template.id,
        )


def parse_json(field_name: str, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise FormError(
            field_name, f"not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from None


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def field_of(path: str | None, code: str) -> str:
    """Which form field an API error belongs beside: by the path it names (`messages[2].content`,
    `response_format.json_schema.schema`, `$.name`), else by its code; `form` when it is about the whole form."""
    if path:
        path = path.removeprefix("$.")
        if path.startswith("response_format"):
            return "response_name" if path.startswith("response_format.json_schema.name") else "response_schema"
        match = re.match(r"^messages\[(\d+)\]", path)
        if match:
            return f"m{match.group(1)}"
        head = re.split(r"[.\[]", path, maxsplit=1)[0]
        return head or "form"
    return {
        "invalid_name": "name",
        "template_too_large": "content",
        "too_many_variables": "content",
        "too_many_messages": "messages",
        "unknown_provider": "provider",
        "invalid_model_id": "model_id",
    }.get(code, "form")
