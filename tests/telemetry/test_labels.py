"""Label values stay bounded: model ids are capped (the rest fold into `other`), unknown HTTP methods become OTHER."""

from __future__ import annotations

from collections.abc import Callable

from litestar.testing import TestClient

from service.http.errors import ProviderError
from service.providers import ProviderRegistry
from service.providers.base import PROVIDERS, Completion, CompletionRequest, GenerationParams
from service.providers.fake import FakeProvider
from telemetry import contract as c
from telemetry.http import bounded_method
from telemetry.labels import MAX_LABEL_CHARS, LabelBounds, parse_model_list
from tests.telemetry.scrape import parse

COMMON = {"service": "prompter-api", "env": "dev"}
TEMPLATE = {"org_id": "acme", "workspace_id": "support", "name": "greet", "body": "Hello {{ name }}!"}


def test_only_answered_model_ids_take_a_label_and_the_cap_holds() -> None:
    bounds = LabelBounds(providers=("openai",), model_id_limit=2)
    assert bounds.model_id("gpt-4o") == c.OTHER  # asked for, never answered: no slot
    for model in ("gpt-4o", "gpt-4o-mini", "o3", "gpt-4o"):
        bounds.admit_model(model)
    assert [bounds.model_id(m) for m in ("gpt-4o", "gpt-4o-mini", "o3", "o4")] == [
        "gpt-4o",
        "gpt-4o-mini",
        c.OTHER,
        c.OTHER,
    ]
    for odd in ("x" * (MAX_LABEL_CHARS + 1), "bad\nid"):
        LabelBounds().admit_model(odd)
        assert LabelBounds().model_id(odd) == c.OTHER
    assert bounds.provider("openai") == "openai"
    assert bounds.provider("mistral") == c.OTHER
    assert c.MODEL_ID_LABEL_LIMIT == 50
    default = LabelBounds()
    for i in range(60):
        default.admit_model(f"model-{i}")
    kept = [default.model_id(f"model-{i}") for i in range(60)]
    assert kept[:50] == [f"model-{i}" for i in range(50)] and set(kept[50:]) == {c.OTHER}


def test_an_allow_list_names_exactly_its_models() -> None:
    assert parse_model_list(" gpt-4o, claude-sonnet-4 ,,") == frozenset({"gpt-4o", "claude-sonnet-4"})
    assert parse_model_list("") is None and parse_model_list(None) is None
    bounds = LabelBounds(allowed_models={"gpt-4o", "claude-sonnet-4"})
    bounds.admit_model("answered-but-not-listed")
    assert bounds.model_id("gpt-4o") == "gpt-4o"
    assert bounds.model_id("claude-sonnet-4") == "claude-sonnet-4"
    assert bounds.model_id("answered-but-not-listed") == c.OTHER


class ServesOnly(FakeProvider):
    """Like a real provider: ids it does not serve are refused (OpenAI answers 404 model_not_found)."""

    def __init__(self, name: str, served: set[str]) -> None:
        super().__init__(name)
        self.served = served

    async def probe(self, model_id: str, params: GenerationParams) -> Completion:
        if model_id not in self.served:
            raise ProviderError(f"{self.name} rejected the request (HTTP 404): no model {model_id}.")
        return await super().probe(model_id, params)

    async def complete(self, request: CompletionRequest) -> Completion:
        await self.probe(request.model_id, request.params)
        return await super().complete(request)


def _model_labels(scrape) -> set[str]:
    families = (
        "prompter_probe_attempt_total",
        "prompter_probe_failure_total",
        "gen_ai_client_operation_duration_seconds_count",
    )
    return {
        labels.get("model_id") or labels.get("gen_ai_request_model") for f in families for labels in scrape.series(f)
    }


def test_made_up_model_ids_cannot_take_the_label_slots(make_client: Callable[..., TestClient]) -> None:
    """The issue's attack: 60 made-up ids first, then a real model. The real one still gets its own series."""
    adapters = {name: FakeProvider(name) for name in PROVIDERS} | {"openai": ServesOnly("openai", {"gpt-4o"})}
    client = make_client(app_kwargs={"providers": ProviderRegistry(adapters)})
    assert client.post("/api/prompt-templates", json=TEMPLATE).status_code == 201
    for i in range(60):
        poisoned = client.post(
            "/api/prompt-templates/1/ensure-version", json={"provider": "openai", "model_id": f"evil-{i}"}
        )
        assert poisoned.status_code == 502, poisoned.text
        run = {"provider": "openai", "model_id": f"evil-run-{i}", "variables": {"name": "x"}}
        assert client.post("/api/prompt-templates/1/run", json=run).status_code == 502
    real = client.post("/api/prompt-templates/1/ensure-version", json={"provider": "openai", "model_id": "gpt-4o"})
    assert real.status_code == 201, real.text
    scrape = parse(client.get("/metrics").text)
    assert _model_labels(scrape) == {"gpt-4o", c.OTHER}
    assert scrape.value("prompter_probe_attempt_total", provider="openai", model_id="gpt-4o", **COMMON) == 1
    failed = scrape.value("prompter_probe_failure_total", provider="openai", model_id=c.OTHER, **COMMON)
    assert failed >= 60 and failed == scrape.value(
        "prompter_probe_attempt_total", provider="openai", model_id=c.OTHER, **COMMON
    )


def test_the_allow_list_overrides_first_come(make_client: Callable[..., TestClient]) -> None:
    """The fake LLM answers any id; with PROMPTER_METRIC_MODELS only the listed ids appear on /metrics."""
    client = make_client(metric_models="gpt-4o, claude-sonnet-4")
    assert client.post("/api/prompt-templates", json=TEMPLATE).status_code == 201
    for model in ("tenant-secret-model", "gpt-4o", "another-tenants-model"):
        response = client.post("/api/prompt-templates/1/ensure-version", json={"provider": "openai", "model_id": model})
        assert response.status_code == 201, response.text
    text = client.get("/metrics").text
    assert "tenant-secret-model" not in text and "another-tenants-model" not in text
    assert _model_labels(parse(text)) == {"gpt-4o", c.OTHER}


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
    client.app.state.runtime.telemetry.labels = LabelBounds(PROVIDERS, model_id_limit=2)
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
