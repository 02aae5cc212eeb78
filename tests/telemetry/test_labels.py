"""Label values stay bounded: model ids are capped (the rest fold into `other`), unknown HTTP methods become OTHER."""

from __future__ import annotations

from collections.abc import Callable

from litestar.testing import TestClient

from telemetry import contract as c
from telemetry.http import bounded_method
from telemetry.labels import MAX_LABEL_CHARS, LabelBounds
from tests.telemetry.scrape import parse

COMMON = {"service": "prompter-api", "env": "dev"}
TEMPLATE = {"org_id": "acme", "workspace_id": "support", "name": "greet", "body": "Hello {{ name }}!"}


def test_model_ids_beyond_the_cap_fold_into_other() -> None:
    bounds = LabelBounds(model_id_limit=2)
    assert [bounds.model_id(m) for m in ("gpt-4o", "gpt-4o-mini", "o3", "gpt-4o", "o4")] == [
        "gpt-4o",
        "gpt-4o-mini",
        c.OTHER,
        "gpt-4o",
        c.OTHER,
    ]
    assert bounds.model_id("x" * (MAX_LABEL_CHARS + 1)) == c.OTHER
    assert bounds.model_id("bad\nid") == c.OTHER
    assert bounds.provider("openai") == "openai"
    assert bounds.provider("mistral") == c.OTHER
    assert c.MODEL_ID_LABEL_LIMIT == 50
    default = LabelBounds()
    kept = [default.model_id(f"model-{i}") for i in range(60)]
    assert kept[:50] == [f"model-{i}" for i in range(50)] and set(kept[50:]) == {c.OTHER}


def test_unknown_methods_are_other() -> None:
    assert [bounded_method(m) for m in ("GET", "POST", "PROPFIND", "BREW", "get")] == [
        "GET",
        "POST",
        "OTHER",
        "OTHER",
        "OTHER",
    ]


def test_the_cap_holds_on_the_exposed_series(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    client.app.state.runtime.telemetry.labels = LabelBounds(model_id_limit=2)
    assert client.post("/api/prompt-templates", json=TEMPLATE).status_code == 201
    for model in ("claude-a", "claude-b", "claude-c", "claude-d", "claude-a"):
        response = client.post(
            "/api/prompt-templates/1/ensure-version", json={"provider": "anthropic", "model_id": model}
        )
        assert response.status_code in {200, 201}, response.text
    brewed = client.request("BREW", "/api/prompt-templates").status_code
    assert brewed in {404, 405}
    scrape = parse(client.get("/metrics").text)
    attempts = {
        labels["model_id"]: scrape.value("prompter_probe_attempt_total", **labels)
        for labels in scrape.series("prompter_probe_attempt_total")
    }
    assert attempts == {"claude-a": 2, "claude-b": 1, c.OTHER: 2}
    methods = {labels["method"] for labels in scrape.series("starlette_requests_total")}
    assert methods == {"POST", "OTHER"}
    assert (
        scrape.value("starlette_requests_total", method="OTHER", route=c.UNMATCHED_ROUTE, status=str(brewed), **COMMON)
        == 1
    )
