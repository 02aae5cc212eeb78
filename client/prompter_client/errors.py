"""Typed errors, built from the server's `{"error": code, "detail": ...}` bodies.

Every error is a `PrompterError(code, detail, status)`; catch a child for one case (`PromptNotFound`), the base for all.
"""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import msgspec


class PrompterError(Exception):
    """An error answer from Prompter (or, for `PrompterUnavailable`, no answer at all).

    `code` is the server's `error` field (`template_not_found`, `protected_label`, ...), `detail` says what went
    wrong and how to fix it, `status` is the HTTP status (None when no response arrived)."""

    def __init__(self, code: str, detail: str, status: int | None = None, **extra: Any) -> None:
        super().__init__(f"{code}: {detail}" if status is None else f"{status} {code}: {detail}")
        self.code = code
        self.detail = detail
        self.status = status
        self.extra = extra


class PromptNotFound(PrompterError):
    """404: no template of that name in the workspace (`template_not_found`), or no such label (`label_not_found`)."""


class Unauthorized(PrompterError):
    """401: no API key, or one the server does not know (set `api_key=` or PROMPTER_API_KEY)."""


class Forbidden(PrompterError):
    """403: the key's role may not do this (`forbidden`, or `protected_label` for a write key on `production`)."""


class Conflict(PrompterError):
    """409: the change conflicts with what is stored: `archive_labelled` (labels point at what you archive; `labels`
    lists them), `archived_target` (a label moved onto something archived), `duplicate_template`, `label_busy`."""


class RateLimited(PrompterError):
    """429: slow down; `retry_after` is the server's Retry-After in seconds (None when it sent none)."""

    def __init__(self, code: str, detail: str, status: int | None = 429, *, retry_after: float | None = None, **extra):
        super().__init__(code, detail, status, **extra)
        self.retry_after = retry_after


class PrompterUnavailable(PrompterError):
    """Prompter could not answer: connection refused, timeout, or a 5xx. A cached prompt is served instead when there
    is one; a first fetch raises this unless the call passed `fallback=`."""


class MissingVariables(PrompterError):
    """A render (local, or the server's run) without a value for every variable: the server's 422 `missing_variables`."""

    def __init__(self, missing: list[str], detail: str | None = None, status: int | None = 422, **extra: Any) -> None:
        detail = detail or f"Missing variables: {', '.join(missing)}. Supply a value for each in `variables`."
        super().__init__("missing_variables", detail, status, **extra)
        self.missing = missing


class InvalidVariables(PrompterError):
    """Variables that break the prompt's input_schema (local render, or the server's 422 `invalid_variables`), or a
    history that is not a list of {role, content} messages (`invalid_history`). `violations`: [{path, message}]."""

    def __init__(
        self,
        violations: list[dict[str, str]],
        detail: str | None = None,
        status: int | None = 422,
        code: str = "invalid_variables",
        **extra: Any,
    ) -> None:
        listed = "; ".join(f"{v.get('path')}: {v.get('message')}" for v in violations[:5])
        detail = detail or f"The variables do not match the prompt's input_schema: {listed}."
        super().__init__(code, detail, status, **extra)
        self.violations = violations


_BY_STATUS: dict[int, type[PrompterError]] = {401: Unauthorized, 403: Forbidden, 404: PromptNotFound, 409: Conflict}


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def error_from_response(response: httpx.Response) -> PrompterError:
    """The typed error for a non-2xx response; a body that is not the server's error shape still gives one."""
    status = response.status_code
    try:
        body = msgspec.json.decode(response.content)
    except msgspec.DecodeError:
        body = None
    if not isinstance(body, dict):
        body = {}
    code = str(body.pop("error", None) or f"http_{status}")
    detail = str(body.pop("detail", None) or response.reason_phrase or "no detail")
    if status == 429:
        return RateLimited(
            code, detail, status, retry_after=retry_after_seconds(response.headers.get("retry-after")), **body
        )
    if code == "missing_variables":
        missing = body.pop("missing", None)
        return MissingVariables(list(missing) if isinstance(missing, list) else [], detail, status, **body)
    if code in ("invalid_variables", "invalid_history"):
        violations = body.pop("violations", None)
        if not isinstance(violations, list):
            violations = [{"path": str(body.get("path", "")), "message": detail}]
        return InvalidVariables(violations, detail, status, code, **body)
    if status >= 500:
        return PrompterUnavailable(code, detail, status, **body)
    return _BY_STATUS.get(status, PrompterError)(code, detail, status, **body)


def unavailable(exc: httpx.HTTPError, url: str) -> PrompterUnavailable:
    """No response at all (refused, reset, timed out): one error type for every transport failure."""
    kind = type(exc).__name__
    return PrompterUnavailable("unavailable", f"{kind} talking to {url}: {exc or 'no detail'}")
