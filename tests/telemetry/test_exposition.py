"""GET /metrics over real HTTP from a live uvicorn, after driving the real API: exact names, label sets and values."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import httpx
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics

from service.providers import ProviderRegistry
from service.providers.base import PROVIDERS
from service.providers.fake import FakeProvider
from telemetry import contract as c
from tests.conftest import need
from tests.support.webhook_receiver import WebhookReceiver, wait_until
from tests.telemetry.fakes import FailingProbeProvider
from tests.telemetry.scrape import Scrape, parse, promtool_check

SERVICE, ENV = "prompter-test", "ci"
COMMON = {"service": SERVICE, "env": ENV}
TEMPLATE = {"org_id": "acme", "workspace_id": "support", "name": "greet", "body": "Hello {{ name }}!"}
RUN_ROUTE = "/api/prompt-templates/{template_id}/run"
ENSURE_ROUTE = "/api/prompt-templates/{template_id}/ensure-version"
OPENAI_RUNS, ANTHROPIC_RUNS = 3, 2

# The dashboard's contract (issue 3's table) plus the GenAI semconv metrics: every one must be in the scrape.
DASHBOARD_FAMILIES = {
    "starlette_requests_total": "counter",
    "starlette_requests_processing_seconds": "histogram",
    "prompter_db_unique_violation_total": "counter",
    "prompter_ensure_version_seconds": "histogram",
    "prompter_prompt_results_insert_total": "counter",
    "prompter_openai_fingerprint_present_total": "counter",
    "prompter_redis_up": "gauge",
    "prompter_probe_attempt_total": "counter",
    "prompter_probe_failure_total": "counter",
    "prompter_cache_hit_total": "counter",
    "prompter_cache_miss_total": "counter",
    "prompter_model_drift_total": "counter",
    "gen_ai_client_operation_duration_seconds": "histogram",
    "gen_ai_client_token_usage": "histogram",
}


def registry_with_failing_google() -> tuple[ProviderRegistry, dict[str, FakeProvider]]:
    fakes = {name: FakeProvider(name) for name in PROVIDERS if name != "google"}
    return ProviderRegistry({**fakes, "google": FailingProbeProvider("google")}), fakes


def drive_api(http: httpx.Client, openai: FakeProvider) -> None:
    """The README walk-through and then some: duplicate, ensure, runs, drift, a failed probe, a 404 and a 405."""
    assert http.post("/api/prompt-templates", json=TEMPLATE).status_code == 201
    assert http.post("/api/prompt-templates", json=TEMPLATE).status_code == 409
    assert (
        http.post(
            "/api/prompt-templates/1/ensure-version", json={"provider": "openai", "model_id": "gpt-4o"}
        ).status_code
        == 201
    )
    for _ in range(OPENAI_RUNS):
        run = http.post(
            "/api/prompt-templates/1/run",
            json={"provider": "openai", "model_id": "gpt-4o", "variables": {"name": "Ada"}},
        )
        assert run.status_code == 201, run.text
    for _ in range(ANTHROPIC_RUNS):
        run = http.post(
            "/api/prompt-templates/1/run",
            json={"provider": "anthropic", "model_id": "claude-sonnet-4", "variables": {"name": "Ada"}},
        )
        assert run.status_code == 201, run.text
    openai.set_identity("fp_rotated")  # the provider silently changes the build behind gpt-4o
    drift = http.post("/api/prompt-templates/1/ensure-version", json={"provider": "openai", "model_id": "gpt-4o"})
    assert drift.status_code == 201 and drift.json()["drift"] is True, drift.text
    failed = http.post("/api/prompt-templates/1/ensure-version", json={"provider": "google", "model_id": "gemini-2.0"})
    assert failed.status_code == 502, failed.text
    # An application reports a call through a label itself: the production-traffic series.
    tenant = {"org_id": TEMPLATE["org_id"], "workspace_id": TEMPLATE["workspace_id"]}
    assert http.put("/api/prompts/greet/labels/staging", json={"version_id": 1, **tenant}).status_code == 200
    call = {"id": "o1", "prompt": "greet", "label": "staging", "provider": "openai", "latency_ms": 20.0}
    assert http.post("/api/observations", json={"items": [call], **tenant}).json()["accepted"] == 1
    assert http.get("/no/such/path").status_code == 404
    assert http.get("/another/unknown/7").status_code == 404
    assert http.get("/api/prompt-templates/999").status_code == 404  # matched route, domain 404
    assert http.delete("/api/prompt-templates/1").status_code == 405


@pytest.fixture
def driven(serve: Callable[..., str]) -> Scrape:
    providers, fakes = registry_with_failing_google()
    base = serve(
        metrics_service=SERVICE,
        metrics_env=ENV,
        webhook_allowed_hosts="127.0.0.1",
        webhook_poll_s=0.05,
        app_kwargs={"providers": providers},
    )
    with WebhookReceiver() as receiver, httpx.Client(base_url=base, timeout=10) as http:
        # The label move of the walk-through is delivered to a real receiver: the webhook series.
        endpoint = {"url": receiver.url, "event_types": ["label.moved"], "org_id": "acme", "workspace_id": "support"}
        assert http.post("/api/webhooks", json=endpoint).status_code == 201
        drive_api(http, fakes["openai"])
        wait_until(
            lambda: (
                parse(http.get("/metrics").text).value("prompter_webhook_deliveries_total", outcome="success", **COMMON)
                == 1
            ),
            "the delivery in the metrics",
        )
        response = http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def test_every_dashboard_name_is_exposed_with_its_type(driven: Scrape) -> None:
    for name, kind in DASHBOARD_FAMILIES.items():
        family_name = name.removesuffix("_total") if kind == "counter" else name
        assert family_name in driven.families, f"{name} missing from /metrics"
        assert driven.families[family_name].type == kind, name
    for instrument in c.CONTRACT:
        if instrument.prometheus in DASHBOARD_FAMILIES:
            assert set(c.exposed_series_names(instrument)) <= driven.sample_names(), instrument.prometheus


def test_counts_follow_what_the_api_did(driven: Scrape) -> None:
    assert driven.value("prompter_db_unique_violation_total", table="prompt_templates", **COMMON) == 1
    runs = OPENAI_RUNS + ANTHROPIC_RUNS
    assert driven.value("prompter_prompt_results_insert_total", **COMMON) == runs
    # Only the OpenAI results carry a system_fingerprint; the Anthropic ones add nothing.
    assert driven.value("prompter_openai_fingerprint_present_total", **COMMON) == OPENAI_RUNS
    # ensure-version: 1 explicit + 1 per run + the drift one for openai, 1 per run for anthropic, the failed google one.
    assert driven.value("prompter_ensure_version_seconds_count", provider="openai", **COMMON) == 1 + OPENAI_RUNS + 1
    assert driven.value("prompter_ensure_version_seconds_count", provider="anthropic", **COMMON) == ANTHROPIC_RUNS
    assert driven.value("prompter_ensure_version_seconds_count", provider="google", **COMMON) == 1
    # No Redis: every ensure-version probes (the explicit one and the drift one); runs never probe.
    assert driven.value("prompter_probe_attempt_total", provider="openai", model_id="gpt-4o", **COMMON) == 2
    # gemini-2.0 never got an answer: it takes no label slot of its own (telemetry/labels.py), it counts as `other`.
    assert driven.value("prompter_probe_failure_total", provider="google", model_id=c.OTHER, **COMMON) == 1
    assert not [s for s in driven.series("prompter_probe_failure_total") if s["model_id"] == "gemini-2.0"]
    # A model's failure and drift series start at 0 with its first probe or answered run (ratios read 0, not "no data").
    assert driven.value("prompter_probe_failure_total", provider="openai", model_id="gpt-4o", **COMMON) == 0
    assert driven.value("prompter_model_drift_total", provider="anthropic", model_id="claude-sonnet-4", **COMMON) == 0
    assert driven.value("prompter_model_drift_total", provider="openai", model_id="gpt-4o", **COMMON) == 1
    assert driven.value("prompter_redis_up", **COMMON) == 0
    assert driven.value("prompter_cache_hit_total", **COMMON) == 0
    assert driven.value("prompter_cache_miss_total", **COMMON) == 0


def test_http_series_use_route_templates_and_bounded_values(driven: Scrape) -> None:
    requests = driven.series("starlette_requests_total")
    assert all(set(labels) == {"service", "env", "method", "route", "status"} for labels in requests)
    assert all(labels["service"] == SERVICE and labels["env"] == ENV for labels in requests)
    routes = {labels["route"] for labels in requests}
    assert routes == {
        "/api/prompt-templates",
        "/api/prompt-templates/{template_id}",
        ENSURE_ROUTE,
        RUN_ROUTE,
        "/api/prompts/{name}/labels/{label}",
        "/api/observations",
        "/api/webhooks",
        c.UNMATCHED_ROUTE,
    }
    assert driven.value("starlette_requests_total", method="POST", route=RUN_ROUTE, status="201", **COMMON) == 5
    assert (
        driven.value("starlette_requests_total", method="POST", route="/api/prompt-templates", status="409", **COMMON)
        == 1
    )
    assert driven.value("starlette_requests_total", method="POST", route=ENSURE_ROUTE, status="502", **COMMON) == 1
    # Two different unknown paths share one series; a 405 gets the same bounded route.
    assert driven.value("starlette_requests_total", method="GET", route=c.UNMATCHED_ROUTE, status="404", **COMMON) == 2
    assert (
        driven.value("starlette_requests_total", method="DELETE", route=c.UNMATCHED_ROUTE, status="405", **COMMON) == 1
    )
    assert (
        driven.value(
            "starlette_requests_total",
            method="GET",
            route="/api/prompt-templates/{template_id}",
            status="404",
            **COMMON,
        )
        == 1
    )
    # /metrics is deliberately not measured (README: Telemetry).
    assert not any(labels["route"] == "/metrics" for labels in requests)
    durations = driven.series("starlette_requests_processing_seconds_count")
    assert all(set(labels) == {"service", "env", "method", "route"} for labels in durations)
    assert driven.value("starlette_requests_processing_seconds_count", method="POST", route=RUN_ROUTE, **COMMON) == 5


def test_label_sets_match_the_contract(driven: Scrape) -> None:
    for instrument in c.CONTRACT:
        for sample_name in c.exposed_series_names(instrument):
            for labels in driven.series(sample_name):
                keys = set(labels) - {"le"} - set(c.COMMON_LABELS)
                assert set(c.COMMON_LABELS) <= set(labels), (sample_name, labels)
                # GenAI's response model / error type are present only when known.
                assert keys <= set(instrument.labels), (sample_name, labels)
                required = {k for k in instrument.labels if k not in {"gen_ai_response_model", "error_type"}}
                assert required <= keys, (sample_name, labels)


def test_histograms_use_the_contract_buckets(driven: Scrape) -> None:
    for instrument in c.CONTRACT:
        if instrument.kind != "histogram":
            continue
        bucket_sets = {}
        for labels in driven.series(f"{instrument.prometheus}_bucket"):
            key = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
            bucket_sets.setdefault(key, []).append(float(labels["le"]))
        assert bucket_sets, instrument.prometheus
        for bounds in bucket_sets.values():
            assert bounds == [*instrument.buckets, float("inf")], instrument.prometheus


def test_scrape_is_valid_for_prometheus_and_has_no_duplicate_names(driven: Scrape) -> None:
    names = [family.name for family in driven.families.values()]
    assert len(names) == len(set(names))
    assert not any(name.endswith("_seconds_seconds") for name in driven.sample_names())
    assert "otel_scope_name" not in driven.text and "target_info" not in driven.text
    checked = promtool_check(driven.text)
    if checked is None:
        need("promtool not installed (apt-get install prometheus)")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_openmetrics_when_the_scraper_asks(serve: Callable[..., str]) -> None:
    base = serve(metrics_service=SERVICE, metrics_env=ENV)
    with httpx.Client(base_url=base, timeout=10) as http:
        assert http.post("/api/prompt-templates", json=TEMPLATE).status_code == 201
        response = http.get("/metrics", headers={"accept": "application/openmetrics-text; version=1.0.0"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")
    families = {family.name: family for family in parse_openmetrics(response.text)}
    requests = families["starlette_requests"]
    assert requests.type == "counter"
    assert [(s.name, s.labels, s.value) for s in requests.samples if s.name == "starlette_requests_total"] == [
        (
            "starlette_requests_total",
            {**COMMON, "method": "POST", "route": "/api/prompt-templates", "status": "201"},
            1.0,
        ),
    ]
    assert families["starlette_requests_processing_seconds"].type == "histogram"


def test_metrics_basic_auth(serve: Callable[..., str]) -> None:
    base = serve(metrics_basic_auth_user="scraper", metrics_basic_auth_password="s3cret")
    good = "Basic " + base64.b64encode(b"scraper:s3cret").decode()
    bad = "Basic " + base64.b64encode(b"scraper:hunter2").decode()
    with httpx.Client(base_url=base, timeout=10) as http:
        refused = http.get("/metrics")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Basic")
        assert refused.json()["error"] == "unauthorized"
        assert http.get("/metrics", headers={"authorization": bad}).status_code == 401
        assert http.get("/metrics", headers={"authorization": "Basic !!notbase64"}).status_code == 401
        assert http.get("/metrics", headers={"authorization": "Bearer scraper:s3cret"}).status_code == 401
        allowed = http.get("/metrics", headers={"authorization": good})
        assert allowed.status_code == 200
        assert "prompter_redis_up" in allowed.text
        # The API itself is not behind the metrics credentials.
        assert http.get("/healthz").status_code == 200
    # Every refusal is counted by a bounded reason; the credentials tried are on no series.
    scrape = parse(allowed.text)
    refusals = {
        labels["reason"]: scrape.value("prompter_auth_failure_total", **labels)
        for labels in scrape.series("prompter_auth_failure_total")
    }
    assert refusals == {"metrics_missing": 1, "metrics_wrong_credentials": 1, "metrics_malformed": 2}
    assert "hunter2" not in allowed.text and "notbase64" not in allowed.text


def test_metrics_auth_refusals_are_logged_without_credentials(
    make_client: Callable[..., object], capsys: pytest.CaptureFixture[str]
) -> None:
    client = make_client(metrics_basic_auth_user="scraper", metrics_basic_auth_password="s3cret")
    tried = "Basic " + base64.b64encode(b"scraper:hunter2").decode()
    capsys.readouterr()
    assert client.get("/metrics", headers={"authorization": tried}).status_code == 401
    assert client.get("/metrics").status_code == 401
    stderr = capsys.readouterr().err
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    refused = [line for line in lines if line["msg"] == "metrics auth refused"]
    assert [(line["reason"], line["route"], line["level"]) for line in refused] == [
        ("metrics_wrong_credentials", "/metrics", "warning"),
        ("metrics_missing", "/metrics", "warning"),
    ]
    assert "hunter2" not in stderr and tried not in stderr


@pytest.mark.parametrize(
    "variable",
    [
        "OTEL_EXPORTER_METRICS_DEFAULT_HISTOGRAM_AGGREGATION",
        "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION",
    ],
)
def test_exponential_histogram_setting_cannot_break_the_scrape(
    serve: Callable[..., str], monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "base2_exponential_bucket_histogram")
    base = serve(metrics_service=SERVICE, metrics_env=ENV)
    with httpx.Client(base_url=base, timeout=10) as http:
        assert http.post("/api/prompt-templates", json=TEMPLATE).status_code == 201
        assert (
            http.post(
                "/api/prompt-templates/1/run",
                json={"provider": "openai", "model_id": "gpt-4o", "variables": {"name": "Ada"}},
            ).status_code
            == 201
        )
        response = http.get("/metrics")
    assert response.status_code == 200
    scrape = parse(response.text)
    assert scrape.families["starlette_requests_processing_seconds"].type == "histogram"
    assert scrape.value("prompter_ensure_version_seconds_count", provider="openai", **COMMON) == 1
    le = [float(labels["le"]) for labels in scrape.series("gen_ai_client_operation_duration_seconds_bucket")]
    assert le[: len(c.GENAI_DURATION_BUCKETS)] == list(c.GENAI_DURATION_BUCKETS)


def test_probe_cache_and_redis_gauge_with_a_real_redis(serve: Callable[..., str], redis_url: str) -> None:
    base = serve(metrics_service=SERVICE, metrics_env=ENV, redis_url=redis_url)
    with httpx.Client(base_url=base, timeout=10) as http:
        assert http.post("/api/prompt-templates", json=TEMPLATE).status_code == 201
        for _ in range(3):  # one probe (a miss), then two answers from the cache
            ensured = http.post(
                "/api/prompt-templates/1/ensure-version", json={"provider": "openai", "model_id": "gpt-4o"}
            )
            assert ensured.status_code in {200, 201}, ensured.text
        scrape = parse(http.get("/metrics").text)
    assert scrape.value("prompter_redis_up", **COMMON) == 1
    assert scrape.value("prompter_cache_miss_total", **COMMON) == 1
    assert scrape.value("prompter_cache_hit_total", **COMMON) == 2
    assert scrape.value("prompter_probe_attempt_total", provider="openai", model_id="gpt-4o", **COMMON) == 1
    assert scrape.value("prompter_ensure_version_seconds_count", provider="openai", **COMMON) == 3


@pytest.mark.parametrize("half", [{"metrics_basic_auth_user": "scraper"}, {"metrics_basic_auth_password": "s3cret"}])
def test_half_configured_metrics_auth_is_refused_at_startup(
    make_client: Callable[..., object], half: dict[str, str]
) -> None:
    # One of the two set means the operator wanted /metrics private: refuse to start rather than serve it open.
    with pytest.raises(
        ValueError, match="METRICS_BASIC_AUTH_USER and METRICS_BASIC_AUTH_PASSWORD must be set together"
    ):
        make_client(**half)
