"""Labels over HTTP (the app in-process: no socket is what these test), on SQLite and PostgreSQL: resolve with ETag/304, PUT/DELETE/list/history,
rollback (twice in a row goes further back, then 409), reserved `latest`, validation and tenancy with auth off."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from service.providers import ProviderRegistry
from tests.e2e.labels_support import TENANT, create_template, in_process_api, pin

Q = {"params": TENANT}


@pytest.fixture(params=["sqlite", "postgresql"])
def api(request: pytest.FixtureRequest, migrated_sqlite_url: str) -> Iterator[httpx.Client]:
    db_url = migrated_sqlite_url if request.param == "sqlite" else request.getfixturevalue("migrated_pg_url")
    with in_process_api(db_url) as client:
        yield client


def put_label(client: httpx.Client, name: str, label: str, version_id: int, **extra):
    return client.put(f"/api/prompts/{name}/labels/{label}", json={"version_id": version_id, **TENANT, **extra})


def resolve(client: httpx.Client, name: str, **params):
    return client.get(f"/api/prompts/{name}", params={**TENANT, **params})


def test_label_resolve_move_history_and_etag(api: httpx.Client) -> None:
    first = create_template(api, "greet", "Hello {{ who }}", **TENANT)
    v1 = pin(api, first["id"])
    second = create_template(api, "greet", "Hi there {{ who }} from {{ team }}", **TENANT)
    v2 = pin(api, second["id"], temperature=0.2)

    assert resolve(api, "greet").json()["error"] == "label_not_found"  # default label: production, not set yet
    moved = put_label(api, "greet", "production", v1["id"], reason="first rollout")
    assert moved.status_code == 200, moved.text
    assert moved.json()["version_id"] == v1["id"] and moved.json()["protected"] is True
    assert moved.json()["updated_by"] == "anonymous"

    got = resolve(api, "greet")
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["name"] == "greet" and body["label"] == "production"
    assert body["template_id"] == first["id"] and body["revision"] == 1
    assert body["body"] == "Hello {{ who }}" and body["variables"] == ["who"]
    assert body["version"] == {
        "id": v1["id"],
        "provider": "openai",
        "model_id": "gpt-4o",
        "params": {},
        "captured": v1["captured"],
        "pvk": v1["pvk"],
    }
    assert body["drift"] is False and body["reported"] is None and body["updated_at"]
    etag = got.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')  # strong: no W/ prefix

    unchanged = resolve(api, "greet", label="production")
    assert unchanged.headers["etag"] == etag
    not_modified = api.get("/api/prompts/greet", params=TENANT, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    assert api.get("/api/prompts/greet", params=TENANT, headers={"If-None-Match": f"W/{etag}"}).status_code == 304
    assert api.get("/api/prompts/greet", params=TENANT, headers={"If-None-Match": '"other"'}).status_code == 200

    assert put_label(api, "greet", "production", v2["id"], reason="rev 2").status_code == 200
    after = api.get("/api/prompts/greet", params=TENANT, headers={"If-None-Match": etag})
    assert after.status_code == 200 and after.headers["etag"] != etag
    assert after.json()["revision"] == 2 and after.json()["version"]["params"] == {"temperature": 0.2}
    assert after.json()["variables"] == ["who", "team"]

    # a move to the current target changes nothing and records nothing
    assert put_label(api, "greet", "production", v2["id"]).status_code == 200
    history = api.get("/api/prompts/greet/labels/production/history", **Q).json()
    assert [(e["kind"], e["from_version_id"], e["to_version_id"]) for e in history["items"]] == [
        ("move", v1["id"], v2["id"]),
        ("move", None, v1["id"]),
    ]
    assert [e["reason"] for e in history["items"]] == ["rev 2", "first rollout"]
    assert {e["actor"] for e in history["items"]} == {"anonymous"} and history["next_cursor"] is None
    page = api.get("/api/prompts/greet/labels/production/history", params={**TENANT, "limit": 1}).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = api.get(
        "/api/prompts/greet/labels/production/history",
        params={**TENANT, "limit": 1, "cursor": page["next_cursor"]},
    ).json()
    assert [e["to_version_id"] for e in rest["items"]] == [v1["id"]]

    # by version id, and `latest`
    by_version = resolve(api, "greet", version_id=v1["id"])
    assert by_version.status_code == 200 and by_version.json()["label"] is None
    assert by_version.json()["version"]["id"] == v1["id"]
    latest = resolve(api, "greet", label="latest").json()
    assert latest["label"] == "latest" and latest["version"]["id"] == v2["id"]
    assert resolve(api, "greet", label="production", version_id=v1["id"]).json()["error"] == "label_and_version"

    listed = api.get("/api/prompts/greet/labels", **Q).json()["items"]
    assert [(item["label"], item["version_id"], item["automatic"]) for item in listed] == [
        ("latest", v2["id"], True),
        ("production", v2["id"], False),
    ]


def test_rollback_twice_goes_further_back_then_409(api: httpx.Client) -> None:
    template = create_template(api, "greet", "Hello {{ who }}", **TENANT)
    a, b, c = (pin(api, template["id"], temperature=t)["id"] for t in (0.1, 0.2, 0.3))
    for version_id in (a, b, c):
        assert put_label(api, "greet", "staging", version_id).status_code == 200

    first = api.post("/api/prompts/greet/labels/staging/rollback", json={**TENANT, "reason": "bad c"})
    assert first.status_code == 200, first.text
    assert first.json()["version_id"] == b
    # the body is optional, the JSON media type is not (no cross-site "simple" POST may move a label)
    bare = api.post("/api/prompts/greet/labels/staging/rollback", params=TENANT)
    assert bare.status_code == 415 and bare.json()["error"] == "unsupported_media_type", bare.text
    second = api.post(
        "/api/prompts/greet/labels/staging/rollback", params=TENANT, headers={"content-type": "application/json"}
    )
    assert second.status_code == 200, second.text
    assert second.json()["version_id"] == a  # further back, not forward to c again
    third = api.post("/api/prompts/greet/labels/staging/rollback", json=TENANT)
    assert third.status_code == 409 and third.json()["error"] == "nothing_to_roll_back"
    assert resolve(api, "greet", label="staging").json()["version"]["id"] == a

    # a move after rollbacks starts a new top: rollback undoes it, then continues below it
    assert put_label(api, "greet", "staging", c).status_code == 200
    assert api.post("/api/prompts/greet/labels/staging/rollback", json=TENANT).json()["version_id"] == a
    events = api.get("/api/prompts/greet/labels/staging/history", **Q).json()["items"]
    assert [(e["kind"], e["rollback"], e["from_version_id"], e["to_version_id"]) for e in events] == [
        ("rollback", True, c, a),
        ("move", False, a, c),
        ("rollback", True, b, a),
        ("rollback", True, c, b),
        ("move", False, b, c),
        ("move", False, a, b),
        ("move", False, None, a),
    ]
    assert events[3]["reason"] == "bad c"


def test_delete_records_an_event_and_rollback_restores(api: httpx.Client) -> None:
    template = create_template(api, "greet", "Hello {{ who }}", **TENANT)
    version = pin(api, template["id"])
    assert put_label(api, "greet", "canary", version["id"]).status_code == 200
    deleted = api.delete("/api/prompts/greet/labels/canary", params={**TENANT, "reason": "done"})
    assert deleted.status_code == 204 and deleted.content == b""
    assert resolve(api, "greet", label="canary").json()["error"] == "label_not_found"
    assert api.delete("/api/prompts/greet/labels/canary", params=TENANT).json()["error"] == "label_not_found"
    restored = api.post("/api/prompts/greet/labels/canary/rollback", json=TENANT)
    assert restored.status_code == 200 and restored.json()["version_id"] == version["id"]
    kinds = [e["kind"] for e in api.get("/api/prompts/greet/labels/canary/history", **Q).json()["items"]]
    assert kinds == ["rollback", "delete", "move"]


def test_latest_is_reserved_and_names_are_validated(api: httpx.Client) -> None:
    template = create_template(api, "greet", "Hello {{ who }}", **TENANT)
    version = pin(api, template["id"])
    for response in (
        put_label(api, "greet", "latest", version["id"]),
        api.delete("/api/prompts/greet/labels/latest", params=TENANT),
        api.post("/api/prompts/greet/labels/latest/rollback", json=TENANT),
    ):
        # 422: `latest` matches the documented label pattern; only changing it is refused
        assert response.status_code == 422 and response.json()["error"] == "reserved_label", response.text
    for bad in ("Production", "-x", "a" * 65, "a b", "prod!"):
        response = put_label(api, "greet", bad, version["id"])
        assert response.status_code == 400, (bad, response.text)
        assert response.json()["error"] in ("invalid_label", "invalid_request"), response.text
        assert resolve(api, "greet", label=bad).status_code == 400
    assert put_label(api, "greet", "a" * 64, version["id"]).status_code == 200
    assert put_label(api, "greet", "v1.2_rc-3", version["id"]).status_code == 200


def test_not_found_cases_and_missing_tenant(api: httpx.Client) -> None:
    template = create_template(api, "greet", "Hello {{ who }}", **TENANT)
    version = pin(api, template["id"])
    other = create_template(api, "other", "Other {{ x }}", **TENANT)
    other_version = pin(api, other["id"])

    assert resolve(api, "nope").json()["error"] == "template_not_found"
    assert resolve(api, "nope").status_code == 404
    assert resolve(api, "greet", label="staging").json()["error"] == "label_not_found"
    assert resolve(api, "greet", version_id=other_version["id"]).json()["error"] == "version_not_found"
    # a version of another name cannot be labelled under this one
    wrong = put_label(api, "greet", "staging", other_version["id"])
    assert wrong.status_code == 404 and wrong.json()["error"] == "version_not_found"
    assert put_label(api, "nope", "staging", version["id"]).json()["error"] == "template_not_found"
    assert put_label(api, "greet", "staging", 2**62).json()["error"] == "version_not_found"
    assert api.get("/api/prompts/greet/labels/staging/history", **Q).json()["error"] == "label_not_found"
    assert api.get("/api/prompts/nope/labels", **Q).json()["error"] == "template_not_found"
    rollback = api.post("/api/prompts/greet/labels/staging/rollback", json=TENANT)
    assert rollback.status_code == 409 and rollback.json()["error"] == "nothing_to_roll_back"

    # another workspace sees none of it
    elsewhere = {"org_id": "acme", "workspace_id": "other-shop"}
    assert put_label(api, "greet", "production", version["id"]).status_code == 200
    assert api.get("/api/prompts/greet", params=elsewhere).json()["error"] == "template_not_found"

    # auth off: the tenant must be named (422: schema-valid, refused by this server's configuration)
    missing = api.get("/api/prompts/greet")
    assert missing.status_code == 422 and missing.json()["error"] == "missing_tenant"
    no_tenant_put = api.put("/api/prompts/greet/labels/staging", json={"version_id": version["id"]})
    assert no_tenant_put.status_code == 422 and no_tenant_put.json()["error"] == "missing_tenant"
    extra = api.put("/api/prompts/greet/labels/staging", json={"version_id": version["id"], "nope": 1, **TENANT})
    assert extra.status_code == 400


def test_run_by_label_and_drift_through_the_label(migrated_sqlite_url: str) -> None:
    registry = ProviderRegistry.fakes()
    with in_process_api(migrated_sqlite_url, registry) as api:
        template = create_template(api, "greet", "Hello {{ who }}", **TENANT)
        pinned = pin(api, template["id"], temperature=0.3, seed=7)
        assert put_label(api, "greet", "production", pinned["id"]).status_code == 200

        ran = api.post("/api/prompts/greet/run", json={"variables": {"who": "Ada"}, **TENANT})
        assert ran.status_code == 201, ran.text
        result = ran.json()
        assert result["label"] == "production" and result["identity_matches_label"] is True
        assert result["version_id"] == pinned["id"] and result["template_id"] == template["id"]
        assert (result["provider"], result["model_id"]) == ("openai", "gpt-4o")
        assert result["rendered_prompt"] == "Hello Ada"
        assert api.get(f"/api/prompt-results/{result['id']}").json()["label"] == "production"
        plain = api.post(
            f"/api/prompt-templates/{template['id']}/run",
            json={"provider": "openai", "model_id": "gpt-4o", "variables": {"who": "Bo"}},
        ).json()
        assert plain["label"] is None and plain["identity_matches_label"] is None
        assert drift_total(api) == 0
        etag = resolve(api, "greet").headers["etag"]

        # the provider now reports another build: the run still answers, and says it did not match the label
        registry.get("openai").set_identity("fp_rotated_build")
        drifted = api.post(
            "/api/prompts/greet/run", params={"label": "production"}, json={"variables": {"who": "Cy"}, **TENANT}
        )
        assert drifted.status_code == 201, drifted.text
        assert drifted.json()["identity_matches_label"] is False
        assert (
            drifted.json()["version_id"] != pinned["id"] and drifted.json()["system_fingerprint"] == "fp_rotated_build"
        )
        assert drift_total(api) == 1

        shown = api.get("/api/prompts/greet", params=TENANT, headers={"If-None-Match": etag})
        assert shown.status_code == 200 and shown.headers["etag"] != etag
        body = shown.json()
        assert body["drift"] is True and body["version"]["id"] == pinned["id"]  # still pinned to the tested build
        assert body["reported"]["system_fingerprint"] == "fp_rotated_build"
        assert body["version"]["captured"] == pinned["captured"]
        listed = {item["label"]: item for item in api.get("/api/prompts/greet/labels", **Q).json()["items"]}
        assert listed["production"]["drift"] is True and listed["latest"]["drift"] is False

        # errors: unknown label, missing variables
        assert (
            api.post("/api/prompts/greet/run", params={"label": "nope"}, json=TENANT).json()["error"]
            == "label_not_found"
        )
        missing = api.post("/api/prompts/greet/run", json=TENANT)
        assert missing.status_code == 422 and missing.json()["error"] == "missing_variables"
        assert api.post("/api/prompts/nope/run", json=TENANT).json()["error"] == "template_not_found"


def drift_total(api: httpx.Client) -> float:
    scrape = api.get("/metrics").text
    return sum(
        sample.value
        for family in text_string_to_metric_families(scrape)
        for sample in family.samples
        if sample.name == "prompter_label_drift_total" and sample.labels.get("provider") == "openai"
    )


def test_drift_shows_once_ensure_version_sees_a_new_identity(migrated_sqlite_url: str) -> None:
    registry = ProviderRegistry.fakes()
    with in_process_api(migrated_sqlite_url, registry) as api:
        template = create_template(api, "greet", "Hello {{ who }}", **TENANT)
        pinned = pin(api, template["id"])
        other_params = pin(api, template["id"], temperature=1.0)  # another lineage: params differ
        assert put_label(api, "greet", "production", pinned["id"]).status_code == 200
        assert put_label(api, "greet", "staging", other_params["id"]).status_code == 200
        assert resolve(api, "greet").json()["drift"] is False

        registry.get("openai").set_identity("fp_rotated_build")
        repinned = pin(api, template["id"], refresh=True)
        assert repinned["drift"] is True and repinned["id"] != pinned["id"]

        body = resolve(api, "greet").json()
        assert body["drift"] is True and body["version"]["id"] == pinned["id"]
        assert body["reported"] == repinned["captured"]
        assert resolve(api, "greet", label="staging").json()["drift"] is False  # its lineage saw nothing new
        assert drift_total(api) == 0  # label drift counts runs through a label, not pins
