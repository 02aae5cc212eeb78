"""Typed errors from the server's `{"error", "detail"}` bodies."""

from __future__ import annotations

import httpx
import pytest
from prompter_client import (
    Conflict,
    Forbidden,
    MissingVariables,
    PrompterError,
    PrompterUnavailable,
    PromptNotFound,
    RateLimited,
    Unauthorized,
)
from prompter_client.errors import error_from_response, retry_after_seconds


def response(status: int, body: object = None, headers: dict[str, str] | None = None) -> httpx.Response:
    kwargs = {"json": body} if body is not None else {"content": b"<html>oops</html>"}
    return httpx.Response(status, headers=headers, request=httpx.Request("GET", "http://x/api/prompts/a"), **kwargs)


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (401, "unauthorized", Unauthorized),
        (403, "protected_label", Forbidden),
        (404, "template_not_found", PromptNotFound),
        (404, "label_not_found", PromptNotFound),
        (400, "invalid_label", PrompterError),
        (409, "nothing_to_roll_back", Conflict),
        (409, "archive_labelled", Conflict),
        (500, "internal_error", PrompterUnavailable),
        (503, "database_unavailable", PrompterUnavailable),
    ],
)
def test_status_and_code_give_the_type(status: int, code: str, kind: type[PrompterError]) -> None:
    error = error_from_response(response(status, {"error": code, "detail": "what and how to fix"}))
    assert type(error) is kind
    assert (error.code, error.detail, error.status) == (code, "what and how to fix", status)
    assert str(error) == f"{status} {code}: what and how to fix"


def test_rate_limited_carries_retry_after() -> None:
    error = error_from_response(response(429, {"error": "rate_limited", "detail": "slow down"}, {"retry-after": "7"}))
    assert isinstance(error, RateLimited) and error.retry_after == 7.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: retry now
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_missing_variables_keeps_the_list_and_extra_fields_survive() -> None:
    body = {"error": "missing_variables", "detail": "Missing variables: a.", "missing": ["a"]}
    error = error_from_response(response(422, body))
    assert isinstance(error, MissingVariables) and error.missing == ["a"] and error.status == 422
    dup = error_from_response(response(409, {"error": "duplicate_template", "detail": "d", "existing_id": 3}))
    assert dup.extra == {"existing_id": 3}


def test_a_body_that_is_not_the_error_shape_still_gives_an_error() -> None:
    error = error_from_response(response(502))
    assert isinstance(error, PrompterUnavailable) and error.code == "http_502" and error.detail == "Bad Gateway"
