"""The client's models (prompter_client/models.py) against the server's own OpenAPI document, built in-process.

Each model is matched to the response of the route it decodes, not to a schema name, so renaming a server schema does
not break the check while changing what a route returns does. For every field the client declares: the server sends
it (unless it is one of the client's own, below), the JSON types the server may send are ones the client decodes, and
a field the client requires is one the server always sends. Nested models follow the server's $ref.
"""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import msgspec
import pytest
from prompter_client import (
    Label,
    Prompt,
    PromptArchive,
    PromptDeletion,
    RevisionArchive,
    RunResult,
    VersionArchive,
)

# Fields that exist only on the client side: set by the client, never sent by the server.
CLIENT_ONLY = {(Prompt, "is_fallback"), (RunResult, "replayed")}

# (model, method, path, status): the response each model decodes.
ROUTES = [
    (Prompt, "get", "/api/prompts/{name}", "200"),
    (RunResult, "post", "/api/prompts/{name}/run", "201"),
    (Label, "put", "/api/prompts/{name}/labels/{label}", "200"),
    (PromptArchive, "post", "/api/prompts/{name}/archive", "200"),
    (PromptArchive, "post", "/api/prompts/{name}/unarchive", "200"),
    (RevisionArchive, "post", "/api/prompt-templates/{template_id}/archive", "200"),
    (VersionArchive, "post", "/api/versions/{version_id}/archive", "200"),
    (PromptDeletion, "delete", "/api/prompts/{name}", "200"),
]

JSON_TYPES = {str: {"string"}, int: {"integer"}, float: {"number", "integer"}, bool: {"boolean"}}


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from service.app import create_app
    from service.settings import Settings

    db = Path(tmp_path_factory.mktemp("openapi")) / "prompter.db"
    app = create_app(Settings(db_url=f"sqlite:///{db}"))
    schema = app.openapi_schema.to_schema()
    assert schema["paths"], "the server's OpenAPI document has no paths"
    return schema


def _client_types(annotation: Any) -> set[str] | None:
    """The JSON types a client annotation decodes; None for Any (anything goes)."""
    if annotation is Any:
        return None
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        found: set[str] = set()
        for arg in get_args(annotation):
            arg_types = _client_types(arg)
            if arg_types is None:
                return None
            found |= arg_types
        return found
    if annotation is type(None):
        return {"null"}
    if origin in (list, tuple) or annotation in (list, tuple):
        return {"array"}
    if (
        origin is dict
        or annotation is dict
        or (isinstance(annotation, type) and issubclass(annotation, msgspec.Struct))
    ):
        return {"object"}
    return JSON_TYPES[annotation]


def _server_types(schema: dict[str, Any]) -> set[str] | None:
    if "$ref" in schema:
        return {"object"}
    for combinator in ("oneOf", "anyOf"):
        if combinator in schema:
            found: set[str] = set()
            for option in schema[combinator]:
                option_types = _server_types(option)
                if option_types is None:
                    return None
                found |= option_types
            return found
    kind = schema.get("type")
    if kind is None:
        return None
    return set(kind) if isinstance(kind, list) else {kind}


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _nested(schema: dict[str, Any]) -> dict[str, Any] | None:
    """The object schema a property points at ($ref, possibly inside oneOf with null), if any."""
    if "$ref" in schema:
        return schema
    for option in schema.get("oneOf", []) + schema.get("anyOf", []):
        if "$ref" in option:
            return option
    return None


def _struct(annotation: Any) -> type[msgspec.Struct] | None:
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, msgspec.Struct):
            return candidate
    return None


def _compare(model: type[msgspec.Struct], schema: dict[str, Any], document: dict[str, Any], where: str) -> list[str]:
    schema = _resolve(document, schema)
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    problems = []
    for field in msgspec.structs.fields(model):
        name = f"{where}.{field.name}"
        if (model, field.name) in CLIENT_ONLY:
            if field.name in properties:
                problems.append(f"{name}: marked client-only, but the server sends it")
            continue
        if field.name not in properties:
            problems.append(f"{name}: the server's response has no such field")
            continue
        server = properties[field.name]
        client_types, server_types = _client_types(field.type), _server_types(server)
        if client_types is not None and (server_types is None or not server_types <= client_types):
            problems.append(f"{name}: the server sends {server_types}, the client decodes {client_types}")
        if field.required and field.name not in required:
            problems.append(f"{name}: required by the client, optional in the server's document")
        nested_model, nested_schema = _struct(field.type), _nested(server)
        if nested_model is not None:
            if nested_schema is None:
                problems.append(f"{name}: a {nested_model.__name__} on the client, not an object schema on the server")
            else:
                problems += _compare(nested_model, nested_schema, document, name)
    return problems


@pytest.mark.parametrize(
    ("model", "method", "path", "status"), ROUTES, ids=[f"{r[0].__name__}-{r[1]}-{r[2]}" for r in ROUTES]
)
def test_client_model_matches_the_servers_openapi(
    openapi: dict[str, Any], model: type[msgspec.Struct], method: str, path: str, status: str
) -> None:
    response = openapi["paths"][path][method]["responses"][status]
    schema = response["content"]["application/json"]["schema"]
    assert _compare(model, schema, openapi, model.__name__) == []


def test_the_comparison_catches_a_drifted_model(openapi: dict[str, Any]) -> None:
    """The check is not vacuous: a field the server does not send, and a wrong type, are both reported."""

    class Drifted(msgspec.Struct):
        name: int
        renamed_on_the_server: str

    schema = openapi["paths"]["/api/prompts/{name}"]["get"]["responses"]["200"]["content"]["application/json"]
    problems = _compare(Drifted, schema["schema"], openapi, "Drifted")
    assert any("Drifted.name: the server sends {'string'}" in p for p in problems), problems
    assert any("renamed_on_the_server: the server's response has no such field" in p for p in problems), problems
