"""Read what a provider SDK's response reports - identity, usage, finish reason - without importing the SDK.

Each module handles one official SDK (extras `openai`, `anthropic`, `google-genai`); `read(provider, response)` picks
the right one. Unknown shapes give an empty reading, never an exception."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Reading:
    reported: dict[str, str | None] | None = None  # the identity, as a version's `captured` holds it
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: str | None = None


def read(provider: str, response: Any) -> Reading:
    try:
        if provider == "openai":
            from prompter_client.integrations import openai

            return openai.read(response)
        if provider == "anthropic":
            from prompter_client.integrations import anthropic

            return anthropic.read(response)
        if provider == "google":
            from prompter_client.integrations import google_genai

            return google_genai.read(response)
    except Exception:  # noqa: BLE001 - observing must never fail the application
        return Reading()
    return Reading()


def text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def field(obj: Any, name: str) -> Any:
    """An attribute of an SDK object, or a key of a plain dict (a response parsed from JSON)."""
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
