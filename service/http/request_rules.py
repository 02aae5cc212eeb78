"""What a request must look like before a handler sees it, checked once for every route (an app `before_request`).

- **JSON bodies need a JSON media type.** A handler that takes a body accepts only `Content-Type: application/json`
  (or an `application/<x>+json` type, RFC 6839), with at most a `charset=utf-8` parameter; anything else, or no
  Content-Type at all, is 415 `unsupported_media_type`. Browsers send `text/plain`, `application/x-www-form-urlencoded`
  and `multipart/form-data` cross-site without a CORS preflight: accepting those as JSON would let any web page a user
  visits create templates and spend LLM credits on an open (PROMPTER_AUTH=off) server.
- **Bodies match their schema strictly** (no lenient `0` -> false or `"1"` -> 1 conversions): 400 `invalid_request`
  naming the field, so the OpenAPI document (service/http/openapi_exact.py) is what the server accepts.
- **Path ids are ASCII digits.** Litestar parses `{id:int}` with Python's `int()`, which also takes `１` (full-width),
  `+1`, ` 1` and `1_000`. Those are refused as 404 `not_found`, like any other id that is not a number.
"""

from __future__ import annotations

import contextlib
from typing import Any

import msgspec
from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.exceptions import SerializationException

from service.errors import InvalidInput, NotFound, UnsupportedMediaType

JSON_MEDIA_TYPE = "application/json"


def is_json_media_type(content_type: str, params: dict[str, str]) -> bool:
    media_type = content_type.strip().lower()
    if media_type != JSON_MEDIA_TYPE and not (media_type.startswith("application/") and media_type.endswith("+json")):
        return False
    # JSON is UTF-8 (RFC 8259); a body labelled as another charset is not what it says.
    charset = params.get("charset")
    return charset is None or charset.strip().strip('"').lower() in {"utf-8", "utf8"}


def takes_json_body(handler: Any) -> bool:
    """The handler has a `data` parameter decoded as JSON (the default; the UI's forms declare URL-encoded bodies).
    Decided once per handler (its signature never changes) and remembered on it."""
    known: bool | None = getattr(handler, _TAKES_JSON, None)
    if known is None:
        data = handler.parsed_fn_signature.parameters.get("data")
        media_type = getattr(data.kwarg_definition, "media_type", RequestEncodingType.JSON) if data else None
        known = media_type == RequestEncodingType.JSON
        with contextlib.suppress(AttributeError):  # Litestar's own OPTIONS handlers take no attributes: asked again
            setattr(handler, _TAKES_JSON, known)
    return known


_TAKES_JSON = "_prompter_takes_json_body"


def check_json_media_type(request: Request[Any, Any, Any]) -> None:
    content_type, params = request.content_type
    if not is_json_media_type(content_type, params):
        shown = request.headers.get("content-type") or "none"
        raise UnsupportedMediaType(
            f"Content-Type {shown!r} is not accepted: send the body as JSON with `Content-Type: application/json`."
        )


def check_path_ids(request: Request[Any, Any, Any]) -> None:
    # Routing has parsed the ids already (`path_params`); the template (`/x/{template_id}`) says which raw segment
    # each came from.
    params: dict[str, Any] = request.scope.get("path_params") or {}
    if not any(isinstance(value, int) for value in params.values()):
        return
    template: str = request.scope.get("path_template") or ""
    for pattern, raw in zip(template.split("/"), request.scope["path"].split("/"), strict=False):
        if pattern.startswith("{") and isinstance(params.get(pattern[1:-1]), int):
            if not (raw.isascii() and raw.isdigit()):
                raise NotFound(f"{raw!r} is not an id: ids are ASCII digits (0-9), e.g. `/api/prompt-templates/42`.")


async def check_json_body(request: Request[Any, Any, Any]) -> None:
    """The body is held to its type strictly, as the OpenAPI documents it. Litestar converts a decoded body leniently
    (`"refresh": 0` becomes false, `"seed": "1"` becomes 1): a client that sends what the schema forbids must hear so,
    not have it reinterpreted."""
    if not await request.body():
        return  # no body: Litestar's own check names the missing field
    annotation = request.route_handler.parsed_fn_signature.parameters["data"].annotation
    try:
        value = await request.json()  # decoded once; the depth limit (request_limits.py) applies here
    except SerializationException:
        return  # malformed JSON: Litestar's body extraction answers it (400 invalid_request) as before
    try:
        msgspec.convert(_json_numbers(value), annotation, strict=True)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"Invalid request: {exc}. Check the JSON body against /schema.") from None


def _json_numbers(value: Any) -> Any:
    """JSON Schema counts 107.0 as an integer (a number with no fraction), msgspec's strict mode does not: integral
    floats become ints for this check only (the body itself is left as sent). Depth is bounded (request_limits.py)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_json_numbers(item) for item in value]
    if isinstance(value, dict):
        return {key: _json_numbers(item) for key, item in value.items()}
    return value


async def check_request(request: Request[Any, Any, Any]) -> None:
    """The app's `before_request` hook: returns nothing (the handler runs) or raises a PrompterError."""
    check_path_ids(request)
    if takes_json_body(request.route_handler):
        check_json_media_type(request)
        await check_json_body(request)
