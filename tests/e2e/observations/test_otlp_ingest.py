"""POST /v1/traces: OTLP/JSON (plain and gzip) and protobuf; spans without the prompt attributes are skipped; a re-sent
export is ingested once; malformed -> 400, oversize -> 413, another media type -> 415; with auth on the exporter's
Bearer key names the tenant (the real SDK exporter against a live server)."""

from __future__ import annotations

import gzip
import json
from typing import Any

import httpx
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from service.app import create_app
from service.settings import Settings
from tests.support.keys import make_key
from tests.support.live_server import LiveServer

TENANT = {"org_id": "acme", "workspace_id": "shop"}
TRACE, SPAN = "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174"


def setup_label(client: Any, headers: dict[str, str] | None = None, **tenant: str) -> dict[str, Any]:
    template = client.post("/api/prompt-templates", json={"name": "greet", "body": "Hi", **tenant}, headers=headers)
    version = client.post(
        f"/api/prompt-templates/{template.json()['id']}/ensure-version",
        json={"provider": "openai", "model_id": "gpt-4o"},
        headers=headers,
    ).json()
    client.put("/api/prompts/greet/labels/production", json={"version_id": version["id"], **tenant}, headers=headers)
    return version


def kv(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, list):
        return {"key": key, "value": {"arrayValue": {"values": [{"stringValue": v} for v in value]}}}
    return {"key": key, "value": {"stringValue": value}}


def export(*spans: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceSpans": [
            {"resource": {"attributes": []}, "scopeSpans": [{"scope": {"name": "app"}, "spans": list(spans)}]}
        ]
    }


def span(span_id: str = SPAN, **attributes: Any) -> dict[str, Any]:
    return {
        "traceId": TRACE,
        "spanId": span_id,
        "name": "chat gpt-4o",
        "kind": 3,
        "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": "1700000000250000000",
        "attributes": [kv(k, v) for k, v in attributes.items()],
        "status": {},
    }


GENAI = {
    "prompter.prompt.name": "greet",
    "prompter.prompt.label": "production",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.response.model": "gpt-4o",
    "openai.response.system_fingerprint": "fp_json_new",
    "gen_ai.usage.input_tokens": 11,
    "gen_ai.response.finish_reasons": ["stop"],
}


def post(client: Any, body: bytes, content_type: str = "application/json", **headers: str) -> Any:
    return client.post("/v1/traces", content=body, headers={"content-type": content_type, **headers}, params=TENANT)


def test_json_spans_become_observations_once(client: Any) -> None:
    setup_label(client, **TENANT)
    body = json.dumps(export(span(**GENAI), span("aaaaaaaaaaaaaaaa", **{"http.method": "GET"}))).encode()
    first = post(client, gzip.compress(body), **{"content-encoding": "gzip"})
    assert first.status_code == 200 and first.json() == {}, first.text
    resolved = client.get("/api/prompts/greet", params=TENANT).json()
    assert resolved["drift"] is True and resolved["reported"] == {
        "system_fingerprint": "fp_json_new",
        "model": "gpt-4o",
    }
    assert post(client, body).status_code == 200  # re-sent: a duplicate, counted once
    rows = client.get("/api/prompts/greet/labels/production/stats", params=TENANT).json()["versions"]
    assert [(r["observations"], r["input_tokens"], r["latency_ms"]["avg"]) for r in rows] == [(1, 11, 250.0)]


def test_spans_the_server_cannot_accept_are_reported_as_rejected(client: Any) -> None:
    setup_label(client, **TENANT)
    wrong = {**GENAI, "prompter.prompt.name": "nope"}
    response = post(client, json.dumps(export(span(**wrong))).encode())
    assert response.status_code == 200
    assert response.json()["partialSuccess"]["rejectedSpans"] == 1
    assert "unknown_prompt" in response.json()["partialSuccess"]["errorMessage"]


def test_malformed_oversize_and_wrong_media_type(make_client: Any) -> None:
    client = make_client(observations_max_bytes=4096, observations_max_items=2)
    for body, kind in (
        (b"{not json", "application/json"),
        (b"\xff\x00\x01garbage", "application/x-protobuf"),
        (b'{"resourceSpans": 7}', "application/json"),
    ):
        response = post(client, body, kind)
        assert response.status_code == 400 and response.json()["error"] == "malformed_otlp", (body, response.text)
    assert post(client, b"not gzip", **{"content-encoding": "gzip"}).status_code == 400
    bomb = gzip.compress(b"{" + b" " * 100_000 + b"}")
    assert len(bomb) < 4096
    too_big = post(client, bomb, **{"content-encoding": "gzip"})
    assert too_big.status_code == 413 and too_big.json()["error"] == "request_too_large"
    assert post(client, b"x" * 5000).status_code == 413
    many = json.dumps(export(*[span(f"{i:016x}") for i in range(3)])).encode()
    assert post(client, many).status_code == 413
    assert post(client, b"{}", "text/plain").status_code == 415


def test_the_sdk_exporter_authenticates_with_a_bearer_key(sqlite_url: str) -> None:
    settings = Settings(db_url=sqlite_url, db_auto_migrate=True, auth="required")
    with LiveServer(create_app(settings)) as base_url, httpx.Client(base_url=base_url) as api:
        write = {"Authorization": f"Bearer {make_key(sqlite_url, 'acme', 'shop', 'admin')}"}
        ingest = make_key(sqlite_url, "acme", "shop", "ingest")
        setup_label(api, write)
        for key, expected in ((None, 0), (ingest, 1)):
            headers = {"authorization": f"Bearer {key}"} if key else {}
            tracing = TracerProvider()
            tracing.add_span_processor(
                SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{base_url}/v1/traces", headers=headers))
            )
            with tracing.get_tracer("app").start_as_current_span("chat") as current:
                current.set_attributes({**GENAI, "openai.response.system_fingerprint": "fp_sdk"})
            tracing.shutdown()
            resolved = api.get("/api/prompts/greet", headers=write).json()
            assert resolved["drift"] is bool(expected), key
        assert resolved["reported"] == {"system_fingerprint": "fp_sdk", "model": "gpt-4o"}
