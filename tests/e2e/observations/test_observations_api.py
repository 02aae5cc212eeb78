"""POST /api/observations over the in-process app: per-item fates, deduplication, drift from observations alone (the
label resolves `drift: true` with the new identity, prompter_label_drift_total counts it), bad items rejected alone,
batch limits (413), and the per-version stats of the label."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

TENANT = {"org_id": "acme", "workspace_id": "shop"}


def metric(client: Any, name: str, **labels: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


@pytest.fixture
def labelled(client: Any) -> dict[str, Any]:
    """`greet` with a version pinned by the fake openai provider, labelled production."""
    template = client.post("/api/prompt-templates", json={"name": "greet", "body": "Hi {{ who }}", **TENANT})
    assert template.status_code == 201, template.text
    version = client.post(
        f"/api/prompt-templates/{template.json()['id']}/ensure-version",
        json={"provider": "openai", "model_id": "gpt-4o"},
    ).json()
    moved = client.put("/api/prompts/greet/labels/production", json={"version_id": version["id"], **TENANT})
    assert moved.status_code == 200, moved.text
    return version


def item(obs_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": obs_id,
        "prompt": "greet",
        "label": "production",
        "provider": "openai",
        "model_id": "gpt-4o",
        **fields,
    }


def post(client: Any, *items: Any, **extra: Any) -> Any:
    return client.post("/api/observations", json={"items": list(items), **TENANT, **extra})


def test_new_identity_in_observations_alone_makes_the_label_drift(client: Any, labelled: dict[str, Any]) -> None:
    same = dict(labelled["captured"])
    new = {"system_fingerprint": "fp_new_build", "model": "gpt-4o-2024-08-06"}
    first = post(client, item("a1", reported=same, latency_ms=120.0, usage={"input_tokens": 5, "output_tokens": 7}))
    assert first.status_code == 200, first.text
    assert first.json() == {"accepted": 1, "duplicate": 0, "rejected": 0, "items": [{"id": "a1", "status": "accepted"}]}
    assert client.get("/api/prompts/greet", params=TENANT).json()["drift"] is False
    assert metric(client, "prompter_label_drift_total", provider="openai") == 0

    drifted = post(client, item("a2", reported=new, latency_ms=80.0), item("a3", reported=new, error="RateLimitError"))
    assert drifted.json()["accepted"] == 2, drifted.text
    resolved = client.get("/api/prompts/greet", params=TENANT).json()
    assert resolved["drift"] is True and resolved["reported"] == new
    assert resolved["version"]["id"] == labelled["id"]  # the label still points at its version: drift is reported
    assert metric(client, "prompter_label_drift_total", provider="openai") == 2
    labels = client.get("/api/prompts/greet/labels", params=TENANT).json()["items"]
    assert [row["drift"] for row in labels if row["label"] == "production"] == [True]
    page = client.get("/ui/prompts/greet", params=TENANT).text  # the web UI's drift badge, from observations alone
    assert 'class="badge drift"' in page and "fp_new_build" in page
    assert metric(client, "prompter_observations_total", source="api", fate="accepted") == 3
    assert metric(client, "prompter_label_calls_total", label="production", provider="openai", outcome="error") == 1
    assert metric(client, "prompter_label_calls_total", label="production", provider="openai", outcome="ok") == 2

    # A retried batch counts once: duplicates, nothing stored or counted again.
    again = post(client, item("a2", reported=new, latency_ms=80.0), item("a3", reported=new, error="RateLimitError"))
    assert again.json()["duplicate"] == 2 and again.json()["accepted"] == 0
    assert metric(client, "prompter_label_drift_total", provider="openai") == 2
    assert metric(client, "prompter_observations_total", source="api", fate="duplicate") == 2

    stats = client.get("/api/prompts/greet/labels/production/stats", params={"window": "1h", **TENANT})
    assert stats.status_code == 200, stats.text
    body = stats.json()
    assert body["version_id"] == labelled["id"] and body["drift"] is True and body["reported"] == new
    by_version = {row["version_id"]: row for row in body["versions"]}
    pinned, other = by_version.pop(labelled["id"]), next(iter(by_version.values()))
    assert (pinned["calls"], pinned["observations"], pinned["errors"], pinned["identity_mismatches"]) == (1, 1, 0, 0)
    assert pinned["current"] is True and pinned["input_tokens"] == 5 and pinned["latency_ms"]["p95"] == 120.0
    assert (other["calls"], other["errors"], other["identity_mismatches"]) == (2, 1, 2)
    assert other["captured"] == new and other["current"] is False and other["schema_violations"] is None


def test_runs_through_the_label_count_in_the_stats(client: Any, labelled: dict[str, Any]) -> None:
    assert client.post("/api/prompts/greet/run", json={"variables": {"who": "Ada"}, **TENANT}).status_code == 201
    post(client, item("b1", reported=dict(labelled["captured"]), latency_ms=10.0))
    rows = client.get("/api/prompts/greet/labels/production/stats", params=TENANT).json()["versions"]
    assert [(r["version_id"], r["calls"], r["runs"], r["observations"]) for r in rows] == [(labelled["id"], 2, 1, 1)]


def test_bad_items_are_rejected_alone(client: Any, labelled: dict[str, Any]) -> None:
    good = dict(labelled["captured"])
    other_tenant = client.post(
        "/api/prompt-templates", json={"name": "theirs", "body": "x", "org_id": "o", "workspace_id": "w"}
    )
    assert other_tenant.status_code == 201
    response = post(
        client,
        item("ok", reported=good),
        item("p", prompt="nope", reported=good),
        item("l", label="staging", reported=good),
        item("v", label=None, version_id=999_999, reported=good),
        item("t", prompt="theirs", reported=good),
        item("f", reported={"modelVersion": "x"}),
        item("g", provider="google", reported={"modelVersion": "x"}),
        item("m", model_id="gpt-4o-mini", reported=good),
        {"id": "s", "provider": 7},
        "not an object",
        item("ok", reported=good),
    )
    assert response.status_code == 200, response.text
    fates = [(row["id"], row["status"], row.get("error")) for row in response.json()["items"]]
    assert fates == [
        ("ok", "accepted", None),
        ("p", "rejected", "unknown_prompt"),
        ("l", "rejected", "unknown_label"),
        ("v", "rejected", "unknown_version"),
        ("t", "rejected", "unknown_prompt"),
        ("f", "rejected", "invalid_identity"),
        ("g", "rejected", "provider_mismatch"),
        ("m", "rejected", "model_mismatch"),
        ("s", "rejected", "invalid_item"),
        (None, "rejected", "invalid_item"),
        ("ok", "duplicate", None),
    ]
    assert all(row.get("detail") for row in response.json()["items"] if row["status"] == "rejected")
    assert metric(client, "prompter_observations_total", source="api", fate="rejected") == 9


def test_the_version_id_alone_names_the_prompt(client: Any, labelled: dict[str, Any]) -> None:
    response = post(
        client, {"id": "v1", "version_id": labelled["id"], "provider": "openai", "reported": {"model": "m2"}}
    )
    assert response.json()["accepted"] == 1, response.text
    assert client.get("/api/prompts/greet", params=TENANT).json()["drift"] is True


def test_batch_limits_are_413(make_client: Any) -> None:
    client = make_client(observations_max_items=2, observations_max_bytes=2048)
    too_many = post(client, *[item(str(i)) for i in range(3)])
    assert too_many.status_code == 413 and too_many.json()["error"] == "too_many_observations"
    too_big = post(
        client, item("x", finish_reason="x" * 30, model_id="m" * 190), *[item(str(i)) for i in range(1)], pad="y" * 3000
    )
    assert too_big.status_code == 413 and too_big.json()["error"] == "request_too_large"


def test_bad_stats_window_is_400(client: Any, labelled: dict[str, Any]) -> None:
    for window in ("0h", "31d", "1w", "h"):  # 31d: 422, the others 400
        response = client.get("/api/prompts/greet/labels/production/stats", params={"window": window, **TENANT})
        assert response.status_code in (400, 422) and response.json()["error"] in {
            "invalid_window",
            "invalid_request",
        }, window
    missing = client.get("/api/prompts/nope/labels/production/stats", params=TENANT)
    assert missing.status_code == 404 and missing.json()["error"] == "template_not_found"
