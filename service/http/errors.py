"""The one place that renders errors as HTTP: each family of the domain's errors (service/errors.py) gets one status,
and every error leaves the service as `{"error": "<code>", "detail": "<what went wrong and how to fix it>", ...}`.

The error classes are re-exported here for the modules that imported them from this path before they moved down.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from sqlalchemy import exc as sa_exc

from service.db.engine import is_unavailable, unavailable_because
from service.errors import (
    DependencyUnavailable,
    Duplicate,
    Forbidden,
    InvalidInput,
    NotFound,
    PrompterError,
    ProviderAuth,
    ProviderError,
    ProviderRateLimited,
    ProviderTimeout,
    Unauthorized,
    Unprocessable,
    UnsupportedMediaType,
)
from service.idempotency.service import IdempotentReplay

__all__ = [
    "EXCEPTION_HANDLERS",
    "DependencyUnavailable",
    "Duplicate",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "PrompterError",
    "ProviderAuth",
    "ProviderError",
    "ProviderRateLimited",
    "ProviderTimeout",
    "Unauthorized",
    "Unprocessable",
    "UnsupportedMediaType",
    "error_body",
    "status_of",
]

log = logging.getLogger("prompter.errors")
REPLAYED_HEADER = "Idempotent-Replayed"

# One status per family; a subclass answers its nearest listed ancestor's.
STATUS: dict[type[PrompterError], int] = {
    PrompterError: 400,
    InvalidInput: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Duplicate: 409,
    UnsupportedMediaType: 415,
    Unprocessable: 422,
    ProviderError: 502,
    ProviderAuth: 502,
    ProviderRateLimited: 429,
    ProviderTimeout: 504,
    DependencyUnavailable: 503,
}


def status_of(exc: PrompterError) -> int:
    for kind in type(exc).__mro__:
        if kind in STATUS:
            return STATUS[kind]
        # An error class written the older way, with its own `status`, keeps it until it is moved into STATUS.
        own = kind.__dict__.get("status")
        if isinstance(own, int):
            return own
    return 400


def error_body(code: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"error": code, "detail": detail, **extra}


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[dict[str, Any]]:
    return Response(content=body, status_code=status, media_type=MediaType.JSON, headers=headers or None)


def prompter_error_handler(_: Request, exc: PrompterError) -> Response[dict[str, Any]]:
    return _json(status_of(exc), error_body(exc.code, exc.detail, **exc.extra), exc.headers)


# A parameter whose own rule failed gets that rule's code, the same one the service gives it (labels/names.py).
FIELD_CODES = {"label": "invalid_label"}


def validation_error_handler(_: Request, exc: ValidationException) -> Response[dict[str, Any]]:
    return _json(400, error_body(_validation_code(exc), _describe_validation(exc)))


def _validation_code(exc: ValidationException) -> str:
    extra = exc.extra if isinstance(exc.extra, list) else []
    keys = {item.get("key") for item in extra if isinstance(item, dict)}
    codes = {FIELD_CODES.get(key) for key in keys}  # type: ignore[arg-type]
    only = codes.pop() if len(codes) == 1 else None
    return only or "invalid_request"


def http_error_handler(request: Request, exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    if isinstance(exc, NotFoundException):
        detail = exc.detail if exc.detail != "Not Found" else f"No route matches {request.method} {request.url.path}."
        return _json(404, error_body("not_found", detail))
    codes = {
        400: "invalid_request",
        401: "unauthorized",
        405: "method_not_allowed",
        413: "request_too_large",
        415: "unsupported_media_type",
    }
    detail = str(exc.detail)
    if status == 413:
        detail = f"{detail}. Send a smaller body (limit set by PROMPTER_MAX_BODY_BYTES)."
    if status >= 500:
        log.error("http error %s: %s", status, detail)
        detail = "Internal error."
    return _json(status, error_body(codes.get(status, "http_error"), detail), dict(exc.headers or {}))


def unexpected_error_handler(_: Request, exc: Exception) -> Response[dict[str, Any]]:
    # A genuine bug: log it whole, tell the client nothing internal.
    log.exception("unhandled error", exc_info=exc)
    return _json(
        HTTP_500_INTERNAL_SERVER_ERROR, error_body("internal_error", "Unexpected server error; it was logged.")
    )


def database_error_handler(request: Request, exc: Exception) -> Response[dict[str, Any]]:
    """SQLAlchemy errors and raw OS/timeout errors: 503 `database_unavailable` when the database cannot serve (pool
    timeout, dropped connection, shutdown, statement timeout, frozen server), else a bug (500)."""
    if is_unavailable(exc):
        return prompter_error_handler(request, unavailable_because(exc))
    return unexpected_error_handler(request, exc)


def replay_handler(_: Request[Any, Any, Any], exc: IdempotentReplay) -> Response[Any]:
    """The stored first answer of an idempotent request (service/idempotency/service.py)."""
    return Response(exc.body, status_code=exc.status, headers={REPLAYED_HEADER: "true"})


def _describe_validation(exc: ValidationException) -> str:
    extra = exc.extra if isinstance(exc.extra, list) else []
    parts = []
    for item in extra:
        if isinstance(item, dict):
            key = item.get("key") or item.get("source") or "body"
            parts.append(f"{key}: {item.get('message', 'invalid')}")
    if parts:
        return "Invalid request: " + "; ".join(parts) + "."
    return f"Invalid request: {exc.detail}. Check the JSON body and parameters against /schema."


EXCEPTION_HANDLERS: dict[Any, Any] = {
    PrompterError: prompter_error_handler,
    IdempotentReplay: replay_handler,
    ValidationException: validation_error_handler,
    HTTPException: http_error_handler,
    sa_exc.SQLAlchemyError: database_error_handler,
    OSError: database_error_handler,
    TimeoutError: database_error_handler,
    Exception: unexpected_error_handler,
}
