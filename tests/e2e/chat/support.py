"""The chat prompt of the examples: a system message, two few-shot pairs, a history placeholder and a question, with
a tool and a response schema in its bundle."""

from __future__ import annotations

from typing import Any

TENANT = {"org_id": "acme", "workspace_id": "chat"}
MESSAGES: list[dict[str, Any]] = [
    {"role": "system", "content": "You are {{ persona }}. Answer in {{ language }}."},
    {"role": "user", "content": "Capital of France?"},
    {"role": "assistant", "content": '{"answer": "Paris", "confidence": 0.99}'},
    {"role": "user", "content": "Capital of Japan?"},
    {"role": "assistant", "content": '{"answer": "Tokyo", "confidence": 0.98}'},
    {"type": "placeholder", "name": "history"},
    {"role": "user", "content": "{{ question }}"},
]
INPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "persona": {"type": "string"},
        "language": {"type": "string", "enum": ["English", "French"]},
        "question": {"type": "string", "minLength": 3},
    },
    "required": ["persona", "language", "question"],
}
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup_capital",
            "description": "Look up the capital of a country.",
            "parameters": {
                "type": "object",
                "properties": {"country": {"type": "string"}},
                "required": ["country"],
                "additionalProperties": False,
            },
        },
    }
]
RESPONSE_FORMAT = {
    "type": "json_schema",
    "json_schema": {
        "name": "answer",
        "schema": {
            "type": "object",
            "properties": {"answer": {"type": "string"}, "confidence": {"type": "number", "minimum": 0, "maximum": 1}},
            "required": ["answer", "confidence"],
            "additionalProperties": False,
        },
    },
}
VARIABLES = {"persona": "a geography tutor", "language": "English", "question": "Capital of Italy?"}
HISTORY = [
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello! Ask me about capitals."},
]


def chat_template(name: str = "capitals", **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": "chat", "messages": MESSAGES, "input_schema": INPUT_SCHEMA, **TENANT, **extra}
