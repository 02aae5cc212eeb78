"""Field types shared by the request schemas of several packages."""

from __future__ import annotations

from typing import Annotated, Any

from msgspec import Meta, Struct

NO_NUL = r"^[^\x00]*$"  # for query parameters; JSON bodies are checked by reject_nul
TenantId = Annotated[str, Meta(min_length=1, max_length=64, description="Non-empty, at most 64 characters.")]
ProviderName = Annotated[str, Meta(min_length=1, max_length=64, description="One of: openai, anthropic, google.")]
ModelId = Annotated[str, Meta(min_length=1, max_length=200, description="The provider's model name.")]


def reject_nul(**fields: Any) -> None:
    """NUL characters are rejected up front: PostgreSQL cannot store them and they are never meaningful in a prompt."""
    for name, value in fields.items():
        if isinstance(value, str) and "\x00" in value:
            raise ValueError(f"`{name}` contains a NUL character (\\u0000); remove it")


class Params(Struct, forbid_unknown_fields=True):
    """Generation parameters; all optional. They are part of the version key."""

    temperature: Annotated[float, Meta(ge=0, le=2)] | None = None
    top_p: Annotated[float, Meta(ge=0, le=1)] | None = None
    max_tokens: Annotated[int, Meta(ge=1, le=1_000_000)] | None = None
    seed: Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)] | None = None
