"""One error hierarchy and the one place that renders errors as HTTP.

Every error leaves the service as `{"error": "<code>", "detail": "<what went wrong and how to fix it>", ...}`.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

log = logging.getLogger("prompter.errors")


class PrompterError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, detail: str, *, code: str | None = None, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.headers = headers or {}
        self.extra = extra


class InvalidInput(PrompterError):
    status, code = 400, "invalid_request"


class Unauthorized(PrompterError):
    status, code = 401, "unauthorized"


class Forbidden(PrompterError):
    status, code = 403, "forbidden"


class NotFound(PrompterError):
    status, code = 404, "not_found"


class Duplicate(PrompterError):
    status, code = 409, "duplicate"


class UnsupportedMediaType(PrompterError):
    status, code = 415, "unsupported_media_type"


class Unprocessable(PrompterError):
    """The request is well-formed but the domain rejects it (unknown provider, missing variables)."""

    status, code = 422, "unprocessable"


class ProviderError(PrompterError):
    """The LLM provider failed: 5xx, a malformed body, a refused connection or a rejected request."""

    status, code = 502, "provider_error"


class ProviderAuth(ProviderError):
    """The provider refused our key (401/403). The detail never repeats the key or the provider's message about it."""

    status, code = 502, "provider_auth"


class ProviderRateLimited(ProviderError):
    """The provider kept answering 429 after the bounded retries; carries a Retry-After header."""

    status, code = 429, "provider_rate_limited"


class ProviderTimeout(ProviderError):
    status, code = 504, "provider_timeout"


class DependencyUnavailable(PrompterError):
    status, code = 503, "dependency_unavailable"


def error_body(code: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"error": code, "detail": detail, **extra}


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[dict[str, Any]]:
    return Response(content=body, status_code=status, media_type=MediaType.JSON, headers=headers or None)


def prompter_error_handler(_: Request, exc: PrompterError) -> Response[dict[str, Any]]:
    return _json(exc.status, error_body(exc.code, exc.detail, **exc.extra), exc.headers)


# A parameter whose own rule failed gets that rule's code, the same one the service gives it (labels/names.py).
FIELD_CODES = {"label": "invalid_label"}


def validation_error_handler(_: Request, exc: ValidationException) -> Response[dict[str, Any]]:
    return _json(400, error_body(_validation_code(exc), _describe_validation(exc)))


def _validation_code(exc: ValidationException) -> str:
    extra = exc.extra if isinstance(exc.extra, list) else []
    keys = {item.get("key") for item in extra if isinstance(item, dict)}
    codes = {FIELD_CODES.get(key) for key in keys}
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
    ValidationException: validation_error_handler,
    HTTPException: http_error_handler,
    Exception: unexpected_error_handler,
}
