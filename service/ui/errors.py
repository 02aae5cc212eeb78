"""UI errors are pages, not JSON: a 404 page for a missing (or another tenant's) prompt or result, 403 for a role or a
CSRF failure, 400 for a malformed form or query, and a redirect to the login form when the session is missing or no
longer valid. A path under /ui that matches no route, or a method its route does not take, is decided by routing
before the UI's router is reached: `for_ui_paths` gives the app those two answers as UI pages too."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.response import Redirect, Template

from service.auth.guard import current_principal
from service.auth.service import AuthFailure
from service.errors import PrompterError
from service.http.errors import status_of
from service.ui.login_limits import LoginThrottled
from service.ui.security import SECURITY_HEADERS
from service.ui.session import UI_PATH, LoginRequired, cleared_session_cookie, is_tls
from service.ui.workspace import picker_url

log = logging.getLogger("prompter.ui")
SAFE_METHODS = frozenset({"GET", "HEAD"})

TITLES = {
    400: "Bad request",
    401: "Not logged in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    422: "Cannot do that",
    503: "Unavailable",
}


def _error_page(
    request: Request[Any, Any, Any], status: int, detail: str, headers: dict[str, str] | None = None
) -> Response[Any]:
    if status >= 500:
        log.warning("ui error %s: %s", status, detail)
    return Template(
        template_name="error.html",
        context={
            "principal": current_principal(request),
            "status": status,
            "title": TITLES.get(status, "Error"),
            "detail": detail,
        },
        status_code=status,
        headers={**SECURITY_HEADERS, **(headers or {})},
    )


def login_required_handler(request: Request[Any, Any, Any], exc: LoginRequired) -> Response[Any]:
    cookies = [cleared_session_cookie(secure=is_tls(request))] if exc.reason != "missing" else []
    return Redirect("/ui/login", status_code=303, headers=SECURITY_HEADERS, cookies=cookies)


def prompter_error_page(request: Request[Any, Any, Any], exc: PrompterError) -> Response[Any]:
    if isinstance(exc, AuthFailure | LoginThrottled) and request.method == "POST" and request.url.path == "/ui/login":
        return Template(
            template_name="login.html",
            context={"principal": None, "error": exc.detail},
            status_code=status_of(exc),
            headers={**SECURITY_HEADERS, **(exc.headers if isinstance(exc, LoginThrottled) else {})},
        )
    if exc.code == "missing_tenant" and request.method in SAFE_METHODS:
        return Redirect(picker_url(request), status_code=303, headers=SECURITY_HEADERS)  # choose one, then come back
    return _error_page(request, status_of(exc), exc.detail)


def http_error_page(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if isinstance(exc, PermissionDeniedException):
        detail = "The form was stale or did not come from this site (CSRF check failed). Reload the page and retry."
        return _error_page(request, 403, detail)
    if isinstance(exc, NotFoundException):
        return _error_page(request, 404, "There is nothing here.")
    status = exc.status_code
    if isinstance(exc, MethodNotAllowedException):
        detail = f"This page does not take {request.method} requests. Follow a link or a button of the UI instead."
        return _error_page(request, 405, detail, dict(exc.headers or {}))
    return _error_page(request, status, "Internal error." if status >= 500 else str(exc.detail))


def validation_error_page(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """A form or query the handler could not read (a number that is not one, a NUL): 400, naming the field."""
    extra = exc.extra if isinstance(exc.extra, list) else []
    parts = [
        f"{item.get('key') or 'form'}: {item.get('message', 'invalid')}" for item in extra if isinstance(item, dict)
    ]
    detail = "; ".join(parts) if parts else str(exc.detail)
    return _error_page(request, 400, f"The form or address could not be read ({detail}). Go back and correct it.")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    LoginRequired: login_required_handler,
    PrompterError: prompter_error_page,
    ValidationException: validation_error_page,
    HTTPException: http_error_page,
}


def is_ui_path(path: str) -> bool:
    return path == UI_PATH or path.startswith(f"{UI_PATH}/")


def for_ui_paths(api_handler: Any) -> dict[Any, Any]:
    """App-level handlers for routing's own refusals (no route: 404, wrong method: 405): a UI page under /ui, the
    API's answer (`api_handler`) everywhere else."""

    def routing_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
        if is_ui_path(request.url.path):
            return http_error_page(request, exc)
        return api_handler(request, exc)

    return {NotFoundException: routing_error, MethodNotAllowedException: routing_error}
