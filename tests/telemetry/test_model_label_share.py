"""Model-id label slots: admitted when a version is pinned (the provider reported it), at most a share per workspace,
so one workspace pinning many ids cannot push another workspace's real model into `other`."""

from __future__ import annotations

from collections.abc import Callable

from litestar.testing import TestClient

from telemetry import contract as c
from telemetry.labels import LabelBounds
from tests.telemetry.scrape import parse

COMMON = {"service": "prompter-api", "env": "dev"}


def test_one_tenant_takes_at_most_its_share_of_the_slots() -> None:
    bounds = LabelBounds(providers=("openai",), model_id_limit=6, tenant_limit=2)
    loud, quiet = ("evil", "lab"), ("acme", "shop")
    for index in range(5):
        bounds.admit_model(f"junk-{index}", loud)
    bounds.admit_model("gpt-4o", quiet)
    assert [bounds.model_id(f"junk-{index}") for index in range(3)] == ["junk-0", "junk-1", c.OTHER]
    assert bounds.model_id("gpt-4o") == "gpt-4o"
    bounds.admit_model("junk-0", quiet)  # already admitted: costs nobody a slot
    assert bounds.model_id("junk-0") == "junk-0"


def test_a_workspace_pinning_many_ids_leaves_room_for_another_workspaces_model(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client()  # the fake LLM answers any id, as a permissive provider would
    loud = client.post(
        "/api/prompt-templates", json={"org_id": "evil", "workspace_id": "lab", "name": "t", "body": "x"}
    ).json()
    for index in range(c.MODEL_ID_LABEL_LIMIT + 10):
        pinned = client.post(
            f"/api/prompt-templates/{loud['id']}/ensure-version",
            json={"provider": "openai", "model_id": f"junk-{index}"},
        )
        assert pinned.status_code == 201, pinned.text
    quiet = client.post(
        "/api/prompt-templates", json={"org_id": "acme", "workspace_id": "shop", "name": "t", "body": "x"}
    ).json()
    real = client.post(
        f"/api/prompt-templates/{quiet['id']}/ensure-version",
        json={"provider": "openai", "model_id": "gpt-4.1-brand-new"},
    )
    assert real.status_code == 201, real.text
    scrape = parse(client.get("/metrics").text)
    assert scrape.value("prompter_probe_attempt_total", provider="openai", model_id="gpt-4.1-brand-new", **COMMON) == 1
    junk = {
        sample.labels["model_id"]
        for sample in scrape.samples
        if sample.name == "prompter_probe_attempt_total" and sample.labels["model_id"].startswith("junk-")
    }
    assert len(junk) == c.MODEL_ID_TENANT_LIMIT
