"""Retiring prompts over HTTP (the app in-process), on SQLite and PostgreSQL: archive and unarchive a version, a
revision and a prompt name; archived things hidden from lists and refused as label targets; archiving what a label
points at refused naming the labels; deleting a prompt (confirmed) keeps its results and its label history."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from service.db.engine import create_engine, session_factory
from service.db.models import PromptDeletion, PromptLabelEvent, PromptResult
from service.settings import Settings
from tests.e2e.labels_support import TENANT, create_template, in_process_api, pin
from tests.e2e.test_auth import bearer
from tests.support.keys import make_key

Q = {"params": TENANT}


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, migrated_sqlite_url: str) -> str:
    return migrated_sqlite_url if request.param == "sqlite" else request.getfixturevalue("migrated_pg_url")


@pytest.fixture
def api(db_url: str) -> Iterator[httpx.Client]:
    with in_process_api(db_url) as client:
        yield client


def put_label(client: httpx.Client, name: str, label: str, version_id: int) -> httpx.Response:
    return client.put(f"/api/prompts/{name}/labels/{label}", json={"version_id": version_id, **TENANT})


def version_ids(client: httpx.Client, template_id: int, **params: Any) -> list[int]:
    response = client.get(f"/api/prompt-templates/{template_id}/versions", params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def template_ids(client: httpx.Client, **params: Any) -> list[int]:
    response = client.get("/api/prompt-templates", params={**TENANT, **params})
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def run(client: httpx.Client, template_id: int) -> dict[str, Any]:
    body = {"provider": "openai", "model_id": "gpt-4o", "variables": {"who": "Ada"}}
    response = client.post(f"/api/prompt-templates/{template_id}/run", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_an_archived_version_is_hidden_refused_as_a_label_target_and_restored(api: httpx.Client) -> None:
    template = create_template(api, "greet", "Hello {{ who }}", **TENANT)
    v1 = pin(api, template["id"])["id"]
    v2 = pin(api, template["id"], temperature=0.3)["id"]

    archived = api.post(f"/api/versions/{v1}/archive")
    assert archived.status_code == 200, archived.text
    assert archived.json()["id"] == v1 and archived.json()["archived_at"]
    assert api.post(f"/api/versions/{v1}/archive").status_code == 200  # again: nothing changes, no error
    assert version_ids(api, template["id"]) == [v2]
    assert version_ids(api, template["id"], include_archived="true") == [v2, v1]

    refused = put_label(api, "greet", "production", v1)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "archived_target" and refused.json()["archived"] == "version"
    assert "Unarchive" in refused.json()["detail"]
    assert api.get("/api/prompts/greet", params={**TENANT, "label": "production"}).status_code == 404

    # what is not archived is labelled and resolved as before
    assert put_label(api, "greet", "staging", v2).status_code == 200
    assert api.get("/api/prompts/greet", params={**TENANT, "label": "staging"}).json()["version"]["id"] == v2

    restored = api.post(f"/api/versions/{v1}/unarchive")
    assert restored.status_code == 200 and restored.json()["archived_at"] is None
    assert put_label(api, "greet", "production", v1).status_code == 200
    assert version_ids(api, template["id"]) == [v2, v1]


def test_archiving_what_labels_point_at_is_refused_naming_the_labels(api: httpx.Client) -> None:
    template = create_template(api, "greet", "Hello {{ who }}", **TENANT)
    v1 = pin(api, template["id"])["id"]
    for label in ("staging", "production"):
        assert put_label(api, "greet", label, v1).status_code == 200

    for path in (f"/api/versions/{v1}/archive", f"/api/prompt-templates/{template['id']}/archive"):
        refused = api.post(path)
        assert refused.status_code == 409, refused.text
        body = refused.json()
        assert body["error"] == "archive_labelled" and body["labels"] == ["production", "staging"]
        assert "'production'" in body["detail"] and "'staging'" in body["detail"]
    refused = api.post("/api/prompts/greet/archive", **Q)
    assert refused.status_code == 409 and refused.json()["labels"] == ["production", "staging"]
    assert version_ids(api, template["id"]) == [v1]  # nothing was archived


def test_a_split_never_sends_traffic_to_something_archived(api: httpx.Client) -> None:
    template = create_template(api, "greet", "Hello {{ who }}", **TENANT)
    v1 = pin(api, template["id"])["id"]
    v2 = pin(api, template["id"], temperature=0.3)["id"]
    assert api.post(f"/api/versions/{v2}/archive").status_code == 200
    split = {"split": [{"version_id": v1, "weight": 90}, {"version_id": v2, "weight": 10}], **TENANT}
    refused = api.put("/api/prompts/greet/labels/production", json=split)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "archived_target" and refused.json()["archived"] == "version"

    assert api.post(f"/api/versions/{v2}/unarchive").status_code == 200
    assert api.put("/api/prompts/greet/labels/production", json=split).status_code == 200
    # the canary arm is something a label points at, though it is not the label's baseline
    labelled = api.post(f"/api/versions/{v2}/archive")
    assert labelled.status_code == 409, labelled.text
    assert labelled.json()["error"] == "archive_labelled" and labelled.json()["labels"] == ["production"]


def test_an_archived_revision_is_hidden_skipped_by_latest_and_refused(api: httpx.Client) -> None:
    first = create_template(api, "greet", "Hello {{ who }}", **TENANT)
    v1 = pin(api, first["id"])["id"]
    second = create_template(api, "greet", "Hi {{ who }}", **TENANT)
    v2 = pin(api, second["id"])["id"]
    assert api.get("/api/prompts/greet", params={**TENANT, "label": "latest"}).json()["version"]["id"] == v2

    archived = api.post(f"/api/prompt-templates/{second['id']}/archive")
    assert archived.status_code == 200 and archived.json()["archived_at"], archived.text
    assert template_ids(api) == [first["id"]]
    assert template_ids(api, include_archived="true") == [second["id"], first["id"]]
    assert api.get("/api/prompts/greet", params={**TENANT, "label": "latest"}).json()["version"]["id"] == v1
    refused = put_label(api, "greet", "production", v2)
    assert refused.status_code == 409 and refused.json()["archived"] == "revision", refused.text

    assert api.post(f"/api/prompt-templates/{second['id']}/unarchive").json()["archived_at"] is None
    assert put_label(api, "greet", "production", v2).status_code == 200


def test_an_archived_name_is_hidden_from_lists_and_refused_then_restored(api: httpx.Client) -> None:
    template = create_template(api, "greet", "Hello {{ who }}", **TENANT)
    other = create_template(api, "other", "Bye {{ who }}", **TENANT)
    v1 = pin(api, template["id"])["id"]

    archived = api.post("/api/prompts/greet/archive", **Q)
    assert archived.status_code == 200, archived.text
    assert archived.json()["archived"] is True and archived.json()["archived_by"] == "anonymous"
    assert template_ids(api) == [other["id"]]
    assert template_ids(api, include_archived="true") == [other["id"], template["id"]]
    refused = put_label(api, "greet", "production", v1)
    assert refused.status_code == 409 and refused.json()["archived"] == "name", refused.text
    # reading by id and by version still works: archived is hidden, not gone
    assert api.get(f"/api/prompt-templates/{template['id']}").status_code == 200
    assert api.get("/api/prompts/greet", params={**TENANT, "version_id": v1}).status_code == 200

    restored = api.post("/api/prompts/greet/unarchive", **Q)
    assert restored.status_code == 200 and restored.json()["archived"] is False
    assert template_ids(api) == [other["id"], template["id"]]
    assert put_label(api, "greet", "production", v1).status_code == 200


def test_unknown_things_answer_404(api: httpx.Client) -> None:
    assert api.post("/api/prompts/nope/archive", **Q).json()["error"] == "template_not_found"
    assert api.post("/api/prompt-templates/999/archive").json()["error"] == "template_not_found"
    assert api.post("/api/versions/999/unarchive").json()["error"] == "version_not_found"
    assert api.delete("/api/prompts/nope", params={**TENANT, "confirm": "nope"}).status_code == 404


def _stored(db_url: str, deletion_id: int) -> tuple[list[PromptResult], list[PromptLabelEvent], PromptDeletion]:
    async def read() -> tuple[list[PromptResult], list[PromptLabelEvent], PromptDeletion]:
        engine = create_engine(Settings(db_url=db_url))
        try:
            async with session_factory(engine)() as session:
                results = list(
                    await session.scalars(select(PromptResult).where(PromptResult.deletion_id == deletion_id))
                )
                events = list(await session.scalars(select(PromptLabelEvent).order_by(PromptLabelEvent.id)))
                record = await session.get(PromptDeletion, deletion_id)
                assert record is not None
                return results, events, record
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_deleting_a_prompt_needs_confirmation_and_keeps_results_and_label_history(
    api: httpx.Client, db_url: str
) -> None:
    first = create_template(api, "greet", "Hello {{ who }}", **TENANT)
    v1 = pin(api, first["id"])["id"]
    second = create_template(api, "greet", "Hi {{ who }}", **TENANT)
    v2 = pin(api, second["id"])["id"]
    kept = create_template(api, "other", "Bye {{ who }}", **TENANT)
    result_ids = [run(api, first["id"])["id"], run(api, second["id"])["id"]]
    other_result = run(api, kept["id"])["id"]
    assert put_label(api, "greet", "production", v2).status_code == 200

    for confirm in (None, "GREET", "gree"):
        params = {**TENANT, **({"confirm": confirm} if confirm else {})}
        refused = api.delete("/api/prompts/greet", params=params)
        assert refused.status_code == 422 and refused.json()["error"] == "confirmation_required", refused.text
    assert api.get("/api/prompts/greet", **Q).status_code == 200  # nothing happened

    deleted = api.delete("/api/prompts/greet", params={**TENANT, "confirm": "greet", "reason": "replaced by hello"})
    assert deleted.status_code == 200, deleted.text
    record = deleted.json()
    assert record["name"] == "greet" and record["actor"] == "anonymous" and record["reason"] == "replaced by hello"
    assert record["labels"] == ["production"] and record["results_kept"] == 2
    assert [(r["template_id"], r["revision"], [v["id"] for v in r["versions"]]) for r in record["removed"]] == [
        (first["id"], 1, [v1]),
        (second["id"], 2, [v2]),
    ]

    # gone from every read
    assert api.get("/api/prompts/greet", **Q).json()["error"] == "template_not_found"
    assert api.get(f"/api/prompt-templates/{first['id']}").status_code == 404
    assert template_ids(api, include_archived="true") == [kept["id"]]
    for result_id in result_ids:
        assert api.get(f"/api/prompt-results/{result_id}").status_code == 404
    assert api.get(f"/api/prompt-results/{other_result}").status_code == 200

    # the results keep their data, and the label history keeps the deployment record
    results, events, stored = _stored(db_url, record["id"])
    assert sorted(r.id for r in results) == sorted(result_ids)
    for result in results:
        assert result.template_id is None and result.version_id is None
        assert result.deleted_template_id in (first["id"], second["id"]) and result.deleted_version_id in (v1, v2)
        assert result.output and result.variables == {"who": "Ada"} and result.rendered_prompt.endswith("Ada")
    assert [(e.label, e.kind, e.from_version_id, e.to_version_id) for e in events] == [
        ("production", "move", None, v2),
        ("production", "delete", v2, None),
    ]
    assert events[-1].reason == "prompt deleted" and stored.results_kept == 2

    listed = api.get("/api/prompt-deletions", **Q)
    assert listed.status_code == 200 and listed.json()["items"] == [record] and listed.json()["next_cursor"] is None
    assert (
        api.get("/api/prompt-deletions", params={"org_id": "acme", "workspace_id": "elsewhere"}).json()["items"] == []
    )

    # the name starts over
    again = create_template(api, "greet", "Hello {{ who }}", **TENANT)
    assert again["revision"] == 1
    history = api.get("/api/prompts/greet/labels/production/history", **Q)
    assert [item["kind"] for item in history.json()["items"]] == ["delete", "move"]


def test_a_prompt_deleted_and_created_again_runs_on_its_new_version(api: httpx.Client) -> None:
    """The run path caches (template, pvk) -> version per process; on SQLite a deleted template's id is handed to the
    next template created, so the delete must drop the deleted versions from this process's cache."""
    first = create_template(api, "greet", "Hello {{ who }}", **TENANT)
    v1 = pin(api, first["id"])["id"]
    assert run(api, first["id"])["version_id"] == v1  # the version is cached now
    assert api.delete("/api/prompts/greet", params={**TENANT, "confirm": "greet"}).status_code == 200

    again = create_template(api, "greet", "Hello {{ who }}", **TENANT)
    result = run(api, again["id"])  # a stale cache entry would point the result at the deleted version
    assert result["template_id"] == again["id"]
    versions = version_ids(api, again["id"])
    assert result["version_id"] in versions


def test_the_routes_are_documented_with_their_statuses(api: httpx.Client) -> None:
    paths = api.get("/schema/openapi.json").json()["paths"]
    for path in ("/api/prompts/{name}", "/api/prompt-templates/{template_id}", "/api/versions/{version_id}"):
        assert {"200", "403", "404", "409"} <= set(paths[path + "/archive"]["post"]["responses"]), path
        assert {"200", "403", "404"} <= set(paths[path + "/unarchive"]["post"]["responses"]), path
    delete = paths["/api/prompts/{name}"]["delete"]
    assert {"200", "403", "404", "422"} <= set(delete["responses"])
    assert {p["name"] for p in delete["parameters"]} >= {"confirm", "reason"}
    assert "include_archived" in {p["name"] for p in paths["/api/prompt-templates"]["get"]["parameters"]}


def test_roles_archive_needs_write_delete_needs_admin_and_tenants_stay_apart(db_url: str) -> None:
    with in_process_api(db_url, auth="required") as client:
        keys = {role: bearer(make_key(db_url, "org-b", "ws-b", role)) for role in ("read", "write", "admin")}
        stranger = bearer(make_key(db_url, "org-a", "ws-a", "admin"))
        template = create_template(client, "greet", "Hello {{ who }}", headers=keys["write"])
        version = pin(client, template["id"], headers=keys["write"])["id"]

        read = client.post(f"/api/versions/{version}/archive", headers=keys["read"])
        assert read.status_code == 403 and read.json()["error"] == "forbidden_role", read.text
        for path in (f"/api/versions/{version}/archive", f"/api/prompt-templates/{template['id']}/archive"):
            assert client.post(path, headers=stranger).status_code == 404  # another tenant's: as if missing
        assert client.post("/api/prompts/greet/archive", headers=stranger).status_code == 404
        archived = client.post(f"/api/versions/{version}/archive", headers=keys["write"])
        assert archived.status_code == 200, archived.text
        name = client.post("/api/prompts/greet/archive", headers=keys["write"])
        assert name.status_code == 200 and name.json()["archived_by"] == make_key_id(keys["write"])

        for role in ("read", "write"):
            refused = client.delete("/api/prompts/greet", params={"confirm": "greet"}, headers=keys[role])
            assert refused.status_code == 403 and refused.json()["error"] == "forbidden_role", refused.text
        assert client.delete("/api/prompts/greet", params={"confirm": "greet"}, headers=stranger).status_code == 404
        assert client.get(f"/api/prompt-templates/{template['id']}", headers=keys["read"]).status_code == 200

        deleted = client.delete("/api/prompts/greet", params={"confirm": "greet"}, headers=keys["admin"])
        assert deleted.status_code == 200, deleted.text
        assert deleted.json()["actor"] == make_key_id(keys["admin"])
        assert client.get(f"/api/prompt-templates/{template['id']}", headers=keys["read"]).status_code == 404
        assert [d["name"] for d in client.get("/api/prompt-deletions", headers=keys["read"]).json()["items"]] == [
            "greet"
        ]
        assert client.get("/api/prompt-deletions", headers=stranger).json()["items"] == []


def make_key_id(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ").split("_")[1]
