"""The OpenAPI document made exact where Litestar's generator leaves it looser than the server.

Clients are generated from `/schema/openapi.json` and schemathesis holds the server to it (tests/reliability/
test_schema_fuzz.py, every check). Litestar documents what a msgspec type *is*, not every rule the server applies, so
the document is tightened once, the first time it is served (building it eagerly would cost every app ~0.1 s):

- request bodies are documented by msgspec's own JSON Schema of their Structs: `forbid_unknown_fields` becomes
  `additionalProperties: false` (the server answers 400 to an unknown field; nested `Params` too), every bound is kept
  (Litestar drops `ge=0`), `provider` carries the allow-list as an `enum` (service/http/schemas.py; the server still
  answers an unknown provider 422 `unknown_provider`), strings say they hold no NUL, integers that they fit int64;
- integer parameters are bounded like msgspec's int64 (Litestar writes `le=2**63-1` as the float 9.223372036854776e18,
  which rounds up past the limit), path ids from 0: ids are ASCII digits (service/http/request_rules.py);
- `cursor` parameters state their format (service/db/pagination.py);
- the document describes the deployment as configured: with PROMPTER_AUTH=required a bearer security scheme and no
  `org_id` / `workspace_id` query parameters (the key names the tenant); with auth off those parameters and body fields
  are required wherever the server requires them (else 422 `missing_tenant`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, get_args

import msgspec
from litestar import Litestar, Request
from litestar.openapi.plugins import JsonRenderPlugin, OpenAPIRenderPlugin, YamlRenderPlugin
from litestar.routes import HTTPRoute

from service.http.pagination import CURSOR_DESCRIPTION, CURSOR_PATTERN
from service.http.schemas import NO_NUL, TENANT_DESCRIPTION
from service.http.swagger_ui import OfflineSwaggerRenderPlugin

BEARER = "bearer"
TENANT_FIELDS = frozenset({"org_id", "workspace_id"})
# Operations where org_id / workspace_id only filter, so that with auth off they may be left out.
TENANT_FILTERS = {("/api/prompt-templates", "get")}
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


def render_plugins() -> list[OpenAPIRenderPlugin]:
    """Swagger UI at /schema (and /schema/swagger, assets served locally), the document at /schema/openapi.json and
    .yaml, all exact."""
    return [
        OfflineSwaggerRenderPlugin(path=["/", "/swagger"]),
        ExactJsonRenderPlugin(),
        ExactYamlRenderPlugin(path=["/openapi.yaml", "/openapi.yml"]),
    ]


class _Exact:
    _tightened: int | None = None

    def _tighten_once(self, request: Request[Any, Any, Any], document: dict[str, Any]) -> None:
        # Litestar caches one document dict per app and hands the same object to every render plugin.
        if self._tightened != id(document):
            tighten(document, request.app)
            self._tightened = id(document)


class ExactJsonRenderPlugin(_Exact, JsonRenderPlugin):
    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        self._tighten_once(request, openapi_schema)
        return super().render(request, openapi_schema)


class ExactYamlRenderPlugin(_Exact, YamlRenderPlugin):
    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        self._tighten_once(request, openapi_schema)
        return super().render(request, openapi_schema)


def tighten(document: dict[str, Any], app: Litestar) -> None:
    components = document.setdefault("components", {}).setdefault("schemas", {})
    # msgspec's own JSON Schema of the request bodies is exact for what msgspec enforces (forbid_unknown_fields ->
    # additionalProperties: false, ge=0 -> minimum 0 which Litestar drops as falsy, Meta extras such as the provider
    # enum); it replaces Litestar's rendering of those components, under the same names.
    _, exact = msgspec.json.schema_components(
        sorted(closed_request_structs(app), key=lambda t: t.__name__), ref_template="#/components/schemas/{name}"
    )
    for name, schema in exact.items():
        _close_leaves(schema)
        components[name] = schema
    auth_required = app.state.runtime.settings.auth.required
    bodies_naming_the_tenant: list[dict[str, Any]] = []
    for path, method, operation in _operations(document):
        if auth_required:
            # The tenant comes from the key: a request may only repeat it, so the document offers no tenant parameter.
            operation["parameters"] = [p for p in operation.get("parameters", []) if not _is_tenant(p)]
            if not operation["parameters"]:
                del operation["parameters"]
            if not path.startswith("/api/"):
                operation["security"] = []  # health and readiness need no key
        body = _body_component(operation, components)
        in_body = body is not None and TENANT_FIELDS <= set(body.get("properties", {}))
        in_query = any(_is_tenant(p) for p in operation.get("parameters", []))
        for parameter in operation.get("parameters", []):
            _tighten_parameter(parameter)
            # Auth off: 422 missing_tenant without them. Where the body may name the tenant instead, neither place
            # alone is required (OpenAPI cannot say "one of a query parameter and a body field").
            if _is_tenant(parameter) and not in_body and (path, method) not in TENANT_FILTERS and not auth_required:
                parameter["required"] = True
        if body is not None and in_body and not in_query and not auth_required:
            bodies_naming_the_tenant.append(body)
    if auth_required:
        document["components"]["securitySchemes"] = {
            BEARER: {
                "type": "http",
                "scheme": "bearer",
                "description": "An API key (`prompter keys create`), sent as `Authorization: Bearer <key>`. It names "
                "the org and workspace every request acts in.",
            }
        }
        document["security"] = [{BEARER: []}]
    for body in bodies_naming_the_tenant:
        _require_body_tenant(body)


def _close_leaves(schema: Any) -> None:
    """What the server enforces beyond the types: no NUL in any string (service/http/schemas.py reject_nul), integers
    within int64 (msgspec's range)."""
    if isinstance(schema, list):
        for item in schema:
            _close_leaves(item)
        return
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "string" and "enum" not in schema:
        schema.setdefault("pattern", NO_NUL)
    if schema.get("type") == "integer":
        schema.setdefault("minimum", INT64_MIN)
        schema.setdefault("maximum", INT64_MAX)
    for key, value in schema.items():
        if key in {"properties", "$defs"} and isinstance(value, dict):
            for child in value.values():
                _close_leaves(child)
        elif key in {"anyOf", "oneOf", "allOf", "items", "additionalProperties"}:
            _close_leaves(value)


def closed_request_structs(app: Litestar) -> set[type[msgspec.Struct]]:
    """Every Struct with forbid_unknown_fields reachable from a handler's `data` (request body) annotation."""
    found: set[type[msgspec.Struct]] = set()
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            data = handler.parsed_fn_signature.parameters.get("data")
            if data is not None:
                _collect(data.annotation, found, set())
    return found


def _collect(annotation: Any, found: set[type[msgspec.Struct]], seen: set[int]) -> None:
    """Closed Structs only: msgspec documents the open ones it meets on the way as components too, exactly."""
    if id(annotation) in seen:
        return
    seen.add(id(annotation))
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        if annotation.__struct_config__.forbid_unknown_fields:
            found.add(annotation)
        for field in msgspec.structs.fields(annotation):
            _collect(field.type, found, seen)
        return
    for argument in get_args(annotation):
        _collect(argument, found, seen)


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method in {"get", "put", "post", "delete", "patch", "head", "options"} and isinstance(operation, dict):
                yield path, method, operation


def _is_tenant(parameter: dict[str, Any]) -> bool:
    return parameter.get("in") == "query" and parameter.get("name") in TENANT_FIELDS


def _body_component(operation: dict[str, Any], components: dict[str, Any]) -> dict[str, Any] | None:
    content = operation.get("requestBody", {}).get("content", {})
    ref = next((media.get("schema", {}).get("$ref") for media in content.values()), None)
    return components.get(ref.rsplit("/", 1)[-1]) if isinstance(ref, str) else None


def _require_body_tenant(schema: dict[str, Any]) -> None:
    """Auth off, and the body is the only place to name the tenant: it must (else 422 missing_tenant)."""
    if schema.get("required") and TENANT_FIELDS <= set(schema["required"]):
        return
    schema["required"] = sorted({*schema.get("required", []), *TENANT_FIELDS})
    for name in TENANT_FIELDS:  # `null` is refused the same way
        variants = schema["properties"][name].get("anyOf")
        if variants:
            schema["properties"][name]["anyOf"] = [v for v in variants if v.get("type") != "null"]


def _tighten_parameter(parameter: dict[str, Any]) -> None:
    schema = parameter.get("schema", {})
    if _is_integer(schema):
        # For `int | None` Litestar puts the bounds beside the oneOf, where they apply to the integer.
        floor = 0 if parameter.get("in") == "path" else INT64_MIN
        schema["maximum"] = min(int(schema.get("maximum", INT64_MAX)), INT64_MAX)
        schema["minimum"] = max(int(schema.get("minimum", floor)), floor)
        if parameter.get("in") == "path":
            parameter.setdefault("description", "An id: ASCII digits only (`１`, `+1`, `1_000` are 404).")
    if parameter.get("in") == "query" and parameter.get("name") == "cursor":
        schema["pattern"] = CURSOR_PATTERN
        schema.pop("maxLength", None)
        parameter["description"] = CURSOR_DESCRIPTION
    if parameter.get("in") == "query" and parameter.get("name") in {"org_id", "workspace_id"}:
        parameter["description"] = TENANT_DESCRIPTION


def _is_integer(schema: dict[str, Any]) -> bool:
    if schema.get("type") == "integer":
        return True
    variants = schema.get("oneOf") or []
    return any(v.get("type") == "integer" for v in variants) and all(
        v.get("type") in {"integer", "null"} for v in variants
    )
