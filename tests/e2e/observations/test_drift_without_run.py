"""Done when: an application that fetches its prompt with prompter_client and calls an OpenAI-compatible server itself
(a stub that starts returning another system_fingerprint) makes the label show `drift: true` with the new identity
without a single /run - once through the client's observations, once only through OTel spans exported by the real
OpenTelemetry SDK's OTLP exporter (protobuf, gzip) to /v1/traces."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from prometheus_client.parser import text_string_to_metric_families
from prompter_client import Prompter
from prompter_client.observe import Reporter
from prompter_client.spans import annotate_current_span

from service.app import create_app
from service.settings import Settings
from tests.integration.providers.wire_server import SECRET, Reply, WireServer, openai_chat
from tests.support.live_server import LiveServer

TENANT = {"org_id": "acme", "workspace_id": "shop"}
OLD, NEW = "fp_old_build", "fp_new_build"
MODEL = "gpt-4o-2024-08-06"


def metric(base_url: str, name: str, **labels: str) -> float:
    text = httpx.get(f"{base_url}/metrics").text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


@pytest.fixture
def stack(sqlite_url: str) -> Iterator[tuple[WireServer, str]]:
    """The stub OpenAI-compatible server (reporting OLD) and a live Prompter whose `production` label of `greet` is
    pinned, by one ensure-version probe of that stub, to OLD."""
    wire = WireServer().start()
    wire.script(default=Reply(body=openai_chat(fingerprint=OLD, model=MODEL)))
    settings = Settings(
        db_url=sqlite_url, db_auto_migrate=True, openai_api_key=SECRET, openai_base_url=f"{wire.url}/v1"
    )
    try:
        with LiveServer(create_app(settings)) as base_url, httpx.Client(base_url=base_url, timeout=30) as api:
            template = api.post("/api/prompt-templates", json={"name": "greet", "body": "Hi {{ who }}", **TENANT})
            version = api.post(
                f"/api/prompt-templates/{template.json()['id']}/ensure-version",
                json={"provider": "openai", "model_id": "gpt-4o"},
            ).json()
            assert version["captured"] == {"system_fingerprint": OLD, "model": MODEL}
            moved = api.put("/api/prompts/greet/labels/production", json={"version_id": version["id"], **TENANT})
            assert moved.status_code == 200, moved.text
            wire.script(default=Reply(body=openai_chat(fingerprint=NEW, model=MODEL)))  # the provider rebuilt
            yield wire, base_url
    finally:
        wire.stop()


def resolved(base_url: str) -> dict[str, Any]:
    return httpx.get(f"{base_url}/api/prompts/greet", params=TENANT).json()


def app_call(llm: openai.OpenAI, prompt: Any) -> Any:
    return llm.chat.completions.create(
        model=prompt.version.model_id, messages=[{"role": "user", "content": prompt.render(who="Ada")}]
    )


def test_observations_from_the_client_make_the_label_drift(stack: tuple[WireServer, str]) -> None:
    wire, base_url = stack
    assert resolved(base_url)["drift"] is False
    llm = openai.OpenAI(base_url=f"{wire.url}/v1", api_key=SECRET)
    with Prompter(base_url, **TENANT) as prompter, Reporter(base_url, **TENANT, flush_interval_s=60) as reporter:
        prompt = prompter.get_prompt("greet", label="production")
        for _ in range(3):
            with reporter.observe(prompt) as call:
                call.response(app_call(llm, prompt))
        assert reporter.flush() and reporter.sent == 3
    body = resolved(base_url)
    assert body["drift"] is True and body["reported"] == {"system_fingerprint": NEW, "model": MODEL}
    assert metric(base_url, "prompter_prompt_results_insert_total") == 0  # not a single /run
    assert metric(base_url, "prompter_label_drift_total", provider="openai") == 3
    stats = httpx.get(f"{base_url}/api/prompts/greet/labels/production/stats", params=TENANT).json()
    assert sum(row["observations"] for row in stats["versions"]) == 3 and stats["drift"] is True


def test_otel_spans_alone_make_the_label_drift(stack: tuple[WireServer, str]) -> None:
    wire, base_url = stack
    exporter = OTLPSpanExporter(
        endpoint=f"{base_url}/v1/traces?org_id=acme&workspace_id=shop", compression=Compression.Gzip
    )
    tracing = TracerProvider()
    tracing.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = tracing.get_tracer("app")
    llm = openai.OpenAI(base_url=f"{wire.url}/v1", api_key=SECRET)
    with Prompter(base_url, **TENANT) as prompter:
        prompt = prompter.get_prompt("greet", label="production")
        with tracer.start_as_current_span("chat gpt-4o"):
            assert annotate_current_span(prompt, app_call(llm, prompt))
        with tracer.start_as_current_span("unrelated work"):
            pass
    tracing.force_flush()
    tracing.shutdown()
    body = resolved(base_url)
    assert body["drift"] is True and body["reported"] == {"system_fingerprint": NEW, "model": MODEL}
    assert metric(base_url, "prompter_observations_total", source="otlp", fate="accepted") == 1
    assert metric(base_url, "prompter_prompt_results_insert_total") == 0
