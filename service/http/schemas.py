"""Field types shared by the request schemas of several packages."""

from __future__ import annotations

from typing import Annotated, Any

from msgspec import Meta, Struct

from service.providers.base import GenerationParams
from service.vocabulary import PROVIDERS

NO_NUL = r"^[^\x00]*$"  # for query parameters; JSON bodies are checked by reject_nul
TENANT_DESCRIPTION = (
    "1 to 64 characters. With PROMPTER_AUTH=off it is required (org_id and workspace_id together; without them: 422 "
    "`missing_tenant`). With PROMPTER_AUTH=required it comes from the API key: omit it, or repeat the key's own "
    "(another tenant: 403 `tenant_mismatch`)."
)
TenantId = Annotated[str, Meta(min_length=1, max_length=64, description=TENANT_DESCRIPTION)]
ProviderName = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=64,
        description=f"The LLM provider: one of {', '.join(PROVIDERS)} (anything else: 422 `unknown_provider`).",
        extra_json_schema={"enum": list(PROVIDERS)},
    ),
]
ModelId = Annotated[str, Meta(min_length=1, max_length=200, description="The provider's model name.")]


def reject_nul(**fields: Any) -> None:
    """NUL characters are rejected up front: PostgreSQL cannot store them and they are never meaningful in a prompt.

    Values are searched at every depth (object keys included): a NUL inside `{"n": ["a\\u0000b"]}` is as unstorable
    as one at the top."""
    for name, value in fields.items():
        where = nul_path(value)
        if where is not None:
            raise ValueError(f"`{name}{where}` contains a NUL character (\\u0000); remove it")


def nul_path(value: Any) -> str | None:
    """Where the first string or object key holding a NUL sits (`""`, `.key`, `[2]`, ` key 'a\\x00'`), else None.
    Iterative: bodies are depth-bounded (request_limits) but this walk needs no recursion of its own."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return path
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and "\x00" in key:
                    return f"{path} key {key[:40]!r}"
                stack.append((f"{path}.{str(key)[:40]}", child))
        elif isinstance(item, list):
            stack.extend((f"{path}[{index}]", child) for index, child in enumerate(item))
    return None


class Params(Struct, forbid_unknown_fields=True):
    """Generation parameters; all optional. They are part of the version key."""

    temperature: Annotated[float, Meta(ge=0, le=2)] | None = None
    top_p: Annotated[float, Meta(ge=0, le=1)] | None = None
    max_tokens: Annotated[int, Meta(ge=1, le=1_000_000)] | None = None
    seed: Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)] | None = None
    stop: (
        Annotated[list[Annotated[str, Meta(min_length=1, max_length=200)]], Meta(min_length=1, max_length=4)] | None
    ) = None
    presence_penalty: Annotated[float, Meta(ge=-2, le=2)] | None = None  # OpenAI and Gemini; not sent to Anthropic
    frequency_penalty: Annotated[float, Meta(ge=-2, le=2)] | None = None  # OpenAI and Gemini; not sent to Anthropic


def generation_params(params: Params | None) -> GenerationParams:
    """The request's params as the domain's one shape (service/providers/base.py)."""
    if params is None:
        return GenerationParams()
    return GenerationParams(
        params.temperature,
        params.top_p,
        params.max_tokens,
        params.seed,
        tuple(params.stop) if params.stop is not None else None,
        params.presence_penalty,
        params.frequency_penalty,
    )
