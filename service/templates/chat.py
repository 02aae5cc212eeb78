"""Chat templates: role-tagged messages with `{{ variable }}` placeholders, and placeholder messages that a run fills
with a list of messages (conversation history).

A template is stored as its `type` (`text` or `chat`) plus the text `body` or the list of `messages`, and optionally
an `input_schema` (JSON Schema of its variables). Its content hash is the dedup key:
- a text template without input_schema hashes its body exactly as it always has (`sha256(body)`), so the ids, ETags
  and version keys of existing text prompts never change;
- anything else hashes the canonical JSON (sorted keys, no whitespace) of the whole template.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from service.db.hashing import canonical_json, sha256_key
from service.errors import Unprocessable
from service.templates.rendering import PLACEHOLDER, _as_text, check_rendered_size, parse_variables

TEXT, CHAT = "text", "chat"
TEMPLATE_TYPES = (TEXT, CHAT)
# Neutral roles; each provider adapter maps them to its own (service/providers/).
ROLES = ("system", "developer", "user", "assistant")
PLACEHOLDER_TYPE = "placeholder"
PLACEHOLDER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,63}$")

Message = dict[str, Any]


@dataclass(frozen=True, slots=True)
class TemplateContent:
    """A validated template: what is stored and what its dedup key is."""

    type: str
    body: str  # "" for chat templates
    messages: list[Message] | None
    input_schema: dict[str, Any] | None
    variables: list[str]
    content_hash: str

    @property
    def placeholders(self) -> list[str]:
        return placeholder_names(self.messages or [])


def invalid(path: str, detail: str, code: str = "invalid_template") -> Unprocessable:
    """422: the request matched its schema (messages are free-form objects there); the domain rules refuse it."""
    return Unprocessable(f"`{path}`: {detail}", code=code, path=path)


def validate_messages(raw: Any, *, max_messages: int) -> list[Message]:
    """The messages in their canonical form ({role, content} or {type: placeholder, name}), or a 400 naming the path."""
    if not isinstance(raw, list) or not raw:
        raise invalid("messages", "a chat template needs a non-empty list of messages")
    if len(raw) > max_messages:
        raise invalid(
            "messages",
            f"{len(raw)} messages; the limit is {max_messages} (PROMPTER_MAX_MESSAGES)",
            code="too_many_messages",
        )
    out: list[Message] = []
    for index, item in enumerate(raw):
        path = f"messages[{index}]"
        if not isinstance(item, dict):
            raise invalid(path, "each message is an object")
        kind = item.get("type", "message")
        if kind == PLACEHOLDER_TYPE:
            _only_keys(item, {"type", "name"}, path)
            name = item.get("name")
            if not isinstance(name, str) or not PLACEHOLDER_NAME.match(name):
                raise invalid(f"{path}.name", "a placeholder needs a `name`: a letter or _, then letters, digits, _.-")
            out.append({"type": PLACEHOLDER_TYPE, "name": name})
            continue
        if kind != "message":
            raise invalid(f"{path}.type", f"unknown message type {str(kind)[:40]!r}: `message` or `placeholder`")
        _only_keys(item, {"type", "role", "content"}, path)
        out.append(_role_message(item, path))
    names = placeholder_names(out)
    repeated = [name for name, count in Counter(names).items() if count > 1]
    if repeated:
        raise invalid("messages", f"placeholder {repeated[0]!r} appears more than once")
    return out


def _role_message(item: Mapping[str, Any], path: str) -> Message:
    role = item.get("role")
    if role not in ROLES:
        raise invalid(f"{path}.role", f"unknown role {str(role)[:40]!r}; allowed: {', '.join(ROLES)}")
    content = item.get("content")
    if not isinstance(content, str) or not content:
        raise invalid(f"{path}.content", "a message needs non-empty text `content`")
    return {"role": role, "content": content}


def _only_keys(item: Mapping[str, Any], allowed: set[str], path: str) -> None:
    extra = sorted(set(item) - allowed)
    if extra:
        raise invalid(f"{path}.{str(extra[0])[:40]}", f"unknown field; allowed: {', '.join(sorted(allowed))}")


def placeholder_names(messages: list[Message]) -> list[str]:
    return [m["name"] for m in messages if m.get("type") == PLACEHOLDER_TYPE]


def chat_variables(messages: list[Message]) -> list[str]:
    """Distinct `{{ variable }}` names across the messages, in order of first appearance."""
    found: dict[str, None] = {}
    for message in messages:
        if "content" in message:
            found.update(dict.fromkeys(parse_variables(message["content"])))
    return list(found)


def template_hash(type_: str, body: str, messages: list[Message] | None, input_schema: dict[str, Any] | None) -> str:
    if type_ == TEXT and input_schema is None:
        return "sha256:" + hashlib.sha256(body.encode("utf-8")).hexdigest()
    whole: dict[str, Any] = {"type": type_}
    if type_ == TEXT:
        whole["body"] = body
    else:
        whole["messages"] = messages
    if input_schema is not None:
        whole["input_schema"] = input_schema
    return sha256_key(whole)


def check_placeholders_vs_variables(messages: list[Message], variables: list[str]) -> None:
    clash = [name for name in placeholder_names(messages) if name in variables]
    if clash:
        index = next(i for i, m in enumerate(messages) if m.get("name") == clash[0])
        raise invalid(
            f"messages[{index}].name",
            f"placeholder {clash[0]!r} is also a {{{{ variable }}}} of a message; give one of them another name",
            code="placeholder_clash",
        )


def canonical_size(value: Any) -> int:
    return len(canonical_json(value).encode("utf-8"))


# -- rendering ------------------------------------------------------------------------------------------------------


def validate_history(name: str, value: Any) -> list[Message]:
    """A placeholder's value: a list of {role, content} messages (422 naming the path otherwise)."""
    path = f"variables.{name}"
    if not isinstance(value, list):
        raise Unprocessable(
            f"`{path}` fills a placeholder: it must be a list of messages.", code="invalid_history", path=path
        )
    out = []
    for index, item in enumerate(value):
        where = f"{path}[{index}]"
        if not isinstance(item, dict):
            raise Unprocessable(f"`{where}`: each message is an object.", code="invalid_history", path=where)
        extra = sorted(set(item) - {"role", "content"})
        if extra:
            raise Unprocessable(
                f"`{where}.{str(extra[0])[:40]}`: unknown field; a history message has `role` and `content`.",
                code="invalid_history",
                path=f"{where}.{str(extra[0])[:40]}",
            )
        try:
            out.append(_role_message(item, where))
        except Unprocessable as exc:
            raise Unprocessable(exc.detail, code="invalid_history", path=exc.extra.get("path")) from None
    return out


def render_messages(messages: list[Message], values: Mapping[str, Any], *, max_bytes: int | None) -> list[Message]:
    """Every placeholder message replaced by its value (no value: no messages), every `{{ var }}` substituted in one
    pass. With `max_bytes` the size of the whole rendered chat (history included) is computed first and a chat over it
    is refused before any of it is built (422 rendered_prompt_too_large), exactly like a text prompt."""
    split: list[tuple[str, list[str]] | list[Message]] = []
    literals: list[str] = []
    occurrences: Counter[str] = Counter()
    for message in messages:
        if message.get("type") == PLACEHOLDER_TYPE:
            name = message["name"]
            history = validate_history(name, values[name]) if name in values else []
            literals.extend(m["content"] for m in history)
            split.append(history)
            continue
        pieces = PLACEHOLDER.split(message["content"])
        literals.extend(pieces[0::2])
        occurrences.update(pieces[1::2])
        split.append((message["role"], pieces))
    texts = {name: _as_text(values[name]) for name in occurrences}
    if max_bytes is not None:
        check_rendered_size(literals, occurrences, texts, max_bytes)
    rendered: list[Message] = []
    for part in split:
        if isinstance(part, list):
            rendered.extend(part)
            continue
        role, pieces = part
        pieces = list(pieces)
        pieces[1::2] = [texts[name] for name in pieces[1::2]]
        rendered.append({"role": role, "content": "".join(pieces)})
    return rendered
