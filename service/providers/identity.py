"""The identity rules: what, in a provider's answer, says which model build really produced it.

A version is pinned to this identity (the `captured` dict, part of the pvk); a run reads it from its own completion and
ensure-version from a probe, through the same functions, so both pin the same way.

openai     {"system_fingerprint": <fingerprint or null>, "model": <response model>}
           Both: OpenAI-compatible servers (vLLM, Ollama, LiteLLM) often send no fingerprint, and the dated response
           model (`gpt-4o-2024-08-06` for a request of `gpt-4o`) still tells builds apart.
anthropic  {"model": <response model>}   (dated: `claude-3-5-sonnet-20241022`)
google     {"modelVersion": <modelVersion or null>}, `models/` prefix dropped: the API spells ids both ways.

A field the server does not send is null; two answers with the same nulls are the same identity (nothing tells them
apart), and a change from a value to null or back is drift like any other change.
"""

from __future__ import annotations

from typing import Any

Captured = dict[str, str | None]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def canonical_model_id(provider: str, model_id: str) -> str:
    """The spelling a version, result and metric label use: Gemini's `models/x` and `x` are the same model."""
    if provider == "google":
        return model_id.removeprefix("models/")
    return model_id


def openai_identity(system_fingerprint: Any, response_model: Any) -> Captured:
    return {"system_fingerprint": _text(system_fingerprint), "model": _text(response_model)}


def anthropic_identity(response_model: Any) -> Captured:
    return {"model": _text(response_model)}


def google_identity(model_version: Any) -> Captured:
    version = _text(model_version)
    return {"modelVersion": version.removeprefix("models/") if version else None}


def is_captured(value: Any) -> bool:
    """A well-formed identity (read back from the probe cache): string keys, string-or-null values."""
    return isinstance(value, dict) and all(
        isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in value.items()
    )


# The fields a provider reports, as a version's `captured` holds them (an observation's `reported` must use these).
REPORTED_FIELDS: dict[str, frozenset[str]] = {
    "openai": frozenset({"system_fingerprint", "model"}),
    "anthropic": frozenset({"model"}),
    "google": frozenset({"modelVersion"}),
}


def reported_identity(provider: str, reported: dict[str, Any]) -> Captured | None:
    """An identity an application reported (an observation), in the canonical form a run would have captured it; None
    when its fields are not this provider's (unknown keys, none at all, or a value that is not text or null). OpenAI's
    two fields may each be left out (a compatible server without fingerprints); a field left out counts as null."""
    fields = REPORTED_FIELDS.get(provider)
    if fields is None or not reported or not set(reported) <= fields:
        return None
    if not all(value is None or isinstance(value, str) for value in reported.values()):
        return None
    if provider == "openai":
        return openai_identity(reported.get("system_fingerprint"), reported.get("model"))
    if provider == "anthropic":
        return anthropic_identity(reported.get("model"))
    return google_identity(reported.get("modelVersion"))
