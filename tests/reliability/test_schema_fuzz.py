"""Schemathesis against the app's own OpenAPI (/schema/openapi.json): every operation, schema-valid and schema-invalid
inputs, a live server on PostgreSQL. No 5xx, and every response (errors included) matches what the schema documents.

Generation is derandomized so CI is reproducible; raise EXAMPLES locally to dig deeper (a few thousand random cases
ran clean when this was written).
"""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = 40  # per operation and mode: ~650 requests, ~15 s
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,  # schema-invalid input must be refused with a 4xx, not accepted
]


def _seed(base_url: str) -> None:
    """A template with a version and a result, so small generated ids hit real rows, not only 404s."""
    template = httpx.post(
        f"{base_url}/api/prompt-templates",
        timeout=10,
        json={"org_id": "acme", "workspace_id": "fuzz", "name": "t", "body": "Hi {{ who }}"},
    )
    assert template.status_code == 201, template.text
    run = httpx.post(
        f"{base_url}/api/prompt-templates/{template.json()['id']}/run",
        timeout=10,
        json={"provider": "openai", "model_id": "gpt-4o", "variables": {"who": "seed"}},
    )
    assert run.status_code == 201, run.text


def _has_inputs(operation: schemathesis.APIOperation) -> bool:
    return bool(operation.body) or any(True for _ in operation.iter_parameters())


def _fuzz(operation: schemathesis.APIOperation, mode: GenerationMode, base_url: str) -> int:
    """Run EXAMPLES generated cases of one operation; raises the first (shrunk) failure. Returns how many ran."""
    ran = 0

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: schemathesis.Case) -> None:
        nonlocal ran
        ran += 1
        case.call_and_validate(base_url=base_url, checks=CHECKS, timeout=30)

    check()
    return ran


@pytest.mark.slow
def test_openapi_fuzzing_finds_no_5xx_and_no_schema_violation(pg_url, live_server):
    server = live_server(db_url=pg_url, db_pool_size=5)
    _seed(server.url)
    schema = schemathesis.openapi.from_url(f"{server.url}/schema/openapi.json")
    failures: list[str] = []
    ran: dict[str, int] = {}

    for result in schema.get_all_operations():
        operation = result.ok()
        modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if _has_inputs(operation) else [])
        for mode in modes:
            key = f"{operation.label} [{mode.value}]"
            try:
                ran[key] = _fuzz(operation, mode, server.url)
            except Exception as exc:  # noqa: BLE001 - collected so one report shows every operation's failure
                ran[key] = -1
                failures.append(f"{key}: {exc}")

    assert {key.split(" [")[0] for key in ran} >= {
        "POST /api/prompt-templates",
        "GET /api/prompt-templates",
        "GET /api/prompt-templates/{template_id}",
        "POST /api/prompt-templates/{template_id}/ensure-version",
        "GET /api/prompt-templates/{template_id}/versions",
        "POST /api/prompt-templates/{template_id}/run",
        "GET /api/prompt-templates/{template_id}/results",
        "GET /api/prompt-results/{result_id}",
    }, "the OpenAPI lost an operation"
    assert not failures, "\n\n".join(failures)
    assert sum(ran.values()) >= 300, ran
    print(f"schemathesis: {sum(ran.values())} cases over {len(ran)} operation/mode pairs")
