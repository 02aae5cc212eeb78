"""The error responses each operation documents in the OpenAPI, in the shape the service really sends them.

Litestar would otherwise document its own `{"status_code", "detail", "extra"}` body for a 400 and nothing else, while
every error here leaves as `{"error", "detail", ...}` (service/errors.py): a client generated from /schema would reject
the real responses, and a schema-driven fuzzer (tests/reliability/test_schema_fuzz.py) flags each one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from litestar import Litestar
from litestar.openapi import ResponseSpec
from litestar.routes import HTTPRoute
from msgspec import Struct


class ErrorBody(Struct):
    """Every error: a stable machine-readable `error` code and a `detail` saying what went wrong and how to fix it.
    Some codes add fields (`existing_id` on duplicate_template, `missing` on missing_variables)."""

    error: str
    detail: str


class Readiness(Struct):
    status: str
    database: str
    redis: str


ERROR_STATUSES: dict[int, str] = {
    400: "Malformed or schema-invalid body, path or query (`invalid_request`, `invalid_cursor`, `invalid_label`, "
    "`invalid_name`, `template_too_large`, ...).",
    401: "No valid API key (`unauthorized`; only with PROMPTER_AUTH=required).",
    403: "The key's role or workspace does not allow this (`forbidden`, `forbidden_role`, `protected_label`).",
    404: "No such template, result, version or label (`template_not_found`, `result_not_found`, "
    "`version_not_found`, `label_not_found`, `rollout_not_found`), or an id that is not ASCII digits (`not_found`).",
    409: "Duplicate (`duplicate_template` with `existing_id`), a lost revision race (`revision_conflict`, retry), "
    "another change of the same label in progress (`label_busy`, with Retry-After: retry), no earlier label target "
    "(`nothing_to_roll_back`), a label moved to an archived version, revision or prompt (`archived_target` with "
    "`archived`), or an archive of what labels point at (`archive_labelled` with `labels`).",
    413: "Body over PROMPTER_MAX_BODY_BYTES (`request_too_large`).",
    415: "The body is not sent as JSON: `Content-Type` must be `application/json` or `application/*+json`, charset "
    "utf-8 if given (`unsupported_media_type`).",
    422: "Well-formed but rejected (`unknown_provider`, `missing_variables` with `missing`, "
    "`rendered_prompt_too_large` with `rendered_bytes` and `limit`, `not_comparable`, `diff_too_large`, "
    "`label_and_version`, `reserved_label`, `invalid_split`, `version_or_split`, `invalid_policy` with `field`, "
    "`idempotency_key_reused`, `confirmation_required` (deleting a prompt needs `?confirm=<name>`), and "
    "`missing_tenant` when PROMPTER_AUTH=off and "
    "org_id/workspace_id are not given; chat prompts and bundles: `invalid_template`, `placeholder_clash`, "
    "`too_many_messages`, `invalid_schema`, `schema_too_large`, `invalid_bundle` with `path`, `invalid_variables` "
    "with `violations`, `invalid_history` with `path`).",
    429: "The LLM provider kept rate-limiting (`provider_rate_limited`), or this workspace has too many writes in "
    "progress (`too_many_writes`); both with Retry-After.",
    500: "A bug (`internal_error`); logged with its traceback, nothing internal in the body.",
    502: "The LLM provider failed or refused our key (`provider_error`, `provider_auth`).",
    503: "The database cannot be reached right now (`database_unavailable`, with Retry-After).",
    504: "The LLM provider did not answer in PROMPTER_PROVIDER_TIMEOUT_S (`provider_timeout`).",
}


def _statuses(path: str, methods: Iterable[str]) -> set[int]:
    if path == "/healthz":
        return {500}
    if not path.startswith("/api/"):
        return {500, 503}
    # 422 everywhere under /api: with PROMPTER_AUTH=off any operation that names a tenant can answer `missing_tenant`.
    statuses = {400, 401, 403, 422, 500, 503}
    if "{" in path:
        statuses.add(404)
    if "POST" in methods or "PUT" in methods:
        statuses |= {413, 415}
    if {"POST", "PUT", "DELETE"} & set(methods):
        statuses.add(429)  # too_many_writes (service/http/write_slots.py)
        if path == "/api/prompt-templates" or "/labels/" in path or path.endswith("/archive"):
            statuses.add(409)  # duplicate_template; label_busy, nothing_to_roll_back, archived_target; archive_labelled
    if path.endswith(("/ensure-version", "/run")):
        statuses |= {429, 502, 504}
    return statuses


def error_responses(path: str, methods: Iterable[str]) -> dict[int, ResponseSpec]:
    specs = {
        status: ResponseSpec(data_container=ErrorBody, description=ERROR_STATUSES[status], generate_examples=False)
        for status in sorted(_statuses(path, methods))
    }
    if path == "/readyz":
        specs[503] = ResponseSpec(
            data_container=Readiness,
            generate_examples=False,
            description="Not ready: the database does not answer (Retry-After). Redis never "
            "blocks readiness; it is reported as up, down or disabled.",
        )
    return specs


def document_error_responses(app: Litestar) -> None:
    """Give every documented operation its error responses (an operation's own `responses=` entries win). The OpenAPI
    document is built lazily on first request, so this runs once in create_app."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema():
                continue
            own: dict[int, Any] = dict(handler.responses or {})
            handler.responses = {**error_responses(route.path_format, handler.http_methods), **own}
