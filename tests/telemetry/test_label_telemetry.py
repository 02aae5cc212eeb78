"""Label telemetry: spans prompter.label.resolve / prompter.label.move carry the label name as an attribute, and the
counters prompter_label_moves_total{protected, kind} / prompter_label_drift_total{provider} never see it."""

from __future__ import annotations

from collections.abc import Callable

from litestar.testing import TestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.telemetry.scrape import parse

TENANT = {"org_id": "acme", "workspace_id": "support"}
COMMON = {"service": "prompter-api", "env": "dev"}


def labelled(client: TestClient) -> tuple[int, int]:
    template = client.post("/api/prompt-templates", json={**TENANT, "name": "greet", "body": "Hi {{ who }}"}).json()
    ids = []
    for temperature in (0.1, 0.2):
        body = {"provider": "openai", "model_id": "gpt-4o", "params": {"temperature": temperature}}
        ids.append(client.post(f"/api/prompt-templates/{template['id']}/ensure-version", json=body).json()["id"])
    return ids[0], ids[1]


def test_label_spans_carry_the_label_name(traced: Callable[..., TestClient], span_exporter: InMemorySpanExporter):
    client = traced()
    first, _ = labelled(client)
    span_exporter.clear()
    assert client.put("/api/prompts/greet/labels/canary-7", json={**TENANT, "version_id": first}).status_code == 200
    assert client.get("/api/prompts/greet", params={**TENANT, "label": "canary-7"}).status_code == 200
    spans = span_exporter.get_finished_spans()
    move = [s for s in spans if s.name == "prompter.label.move"]
    resolve = [s for s in spans if s.name == "prompter.label.resolve"]
    assert len(move) == 1 and len(resolve) == 1, [s.name for s in spans]
    assert move[0].attributes["prompter.label"] == "canary-7"
    assert move[0].attributes["prompter.label.kind"] == "move"
    assert resolve[0].attributes["prompter.label"] == "canary-7"
    servers = {s.name: s for s in spans if s.parent is None}
    assert move[0].parent.span_id == servers["PUT /api/prompts/{name}/labels/{label}"].context.span_id
    assert resolve[0].parent.span_id == servers["GET /api/prompts/{name}"].context.span_id


def test_label_moves_are_counted_by_kind_and_protection(make_client: Callable[..., TestClient]):
    client = make_client(protected_labels="production")
    before = parse(client.get("/metrics").text)
    for kind in ("move", "rollback", "delete"):
        for protected in ("true", "false"):
            labels = {"kind": kind, "protected": protected}
            assert before.value("prompter_label_moves_total", **labels, **COMMON) == 0, (
                labels
            )  # every series from the start
    for provider in ("openai", "anthropic", "google"):
        assert before.value("prompter_label_drift_total", provider=provider, **COMMON) == 0

    first, second = labelled(client)
    for label in ("production", "canary-7"):
        for version_id in (first, second):
            assert client.put(f"/api/prompts/greet/labels/{label}", json={**TENANT, "version_id": version_id})
        assert client.post(f"/api/prompts/greet/labels/{label}/rollback", json=TENANT).status_code == 200
    assert client.delete("/api/prompts/greet/labels/canary-7", params=TENANT).status_code == 204
    # refused and no-op moves count nothing
    assert client.put("/api/prompts/greet/labels/latest", json={**TENANT, "version_id": first}).status_code == 422
    assert client.put("/api/prompts/greet/labels/production", json={**TENANT, "version_id": first}).status_code == 200

    after = parse(client.get("/metrics").text)
    assert after.value("prompter_label_moves_total", kind="move", protected="true", **COMMON) == 2
    assert after.value("prompter_label_moves_total", kind="move", protected="false", **COMMON) == 2
    assert after.value("prompter_label_moves_total", kind="rollback", protected="true", **COMMON) == 1
    assert after.value("prompter_label_moves_total", kind="rollback", protected="false", **COMMON) == 1
    assert after.value("prompter_label_moves_total", kind="delete", protected="false", **COMMON) == 1
    assert after.value("prompter_label_moves_total", kind="delete", protected="true", **COMMON) == 0
    assert "canary-7" not in after.text
