"""Split labels over HTTP on SQLite and PostgreSQL: PUT a weighted split, sticky resolve by key, one ETag for every
arm, runs and observations recording their arm, history and rollback of a split, and every bad split refused."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from service.labels.split import Arm, bucket, pick
from tests.e2e.labels_support import TENANT, create_template, in_process_api, pin


@pytest.fixture(params=["sqlite", "postgresql"])
def api(request: pytest.FixtureRequest, migrated_sqlite_url: str) -> Iterator[httpx.Client]:
    db_url = migrated_sqlite_url if request.param == "sqlite" else request.getfixturevalue("migrated_pg_url")
    with in_process_api(db_url) as client:
        yield client


def put(client: httpx.Client, name: str, label: str, **body):
    return client.put(f"/api/prompts/{name}/labels/{label}", json={**body, **TENANT})


def resolve(client: httpx.Client, name: str, **params):
    return client.get(f"/api/prompts/{name}", params={**TENANT, **params})


def two_versions(client: httpx.Client, name: str = "greet") -> tuple[int, int]:
    first = create_template(client, name, "Hello {{ who }}", **TENANT)
    v1 = pin(client, first["id"])["id"]
    second = create_template(client, name, "Hi {{ who }}, welcome back", **TENANT)
    v2 = pin(client, second["id"])["id"]
    return v1, v2


def test_a_split_resolves_sticky_by_key_with_one_etag(api: httpx.Client) -> None:
    v1, v2 = two_versions(api)
    split = [{"version_id": v1, "weight": 90}, {"version_id": v2, "weight": 10}]
    answer = put(api, "greet", "production", split=split, reason="canary")
    assert answer.status_code == 200, answer.text
    assert answer.json()["version_id"] == v1 and answer.json()["split"] == split

    arms = [Arm(v1, 90), Arm(v2, 10)]
    seen: Counter[int] = Counter()
    etags = set()
    for n in range(200):
        key = f"user-{n}"
        body = resolve(api, "greet", label="production", key=key)
        assert body.status_code == 200
        got = body.json()
        expected = pick(arms, bucket("greet", "production", key))
        assert got["variant"] == expected and got["version"]["id"] == [v1, v2][expected]
        assert got["body"] == ["Hello {{ who }}", "Hi {{ who }}, welcome back"][expected]
        assert [arm["version_id"] for arm in got["split"]] == [v1, v2]
        assert resolve(api, "greet", label="production", key=key).json()["variant"] == expected  # sticky
        seen[expected] += 1
        etags.add(body.headers["etag"])
    assert len(etags) == 1  # the ETag covers the split, not the pick
    assert seen[1] > 0 and seen[0] > seen[1]  # about 90/10 over 200 keys
    etag = etags.pop()
    for key in ("user-1", "user-2", "someone-else"):
        assert resolve(api, "greet", label="production", key=key, headers=None).status_code == 200
        again = api.get(
            "/api/prompts/greet", params={**TENANT, "label": "production", "key": key}, headers={"if-none-match": etag}
        )
        assert again.status_code == 304
    # Without a key: a random arm, both arms served over many calls.
    assert {resolve(api, "greet", label="production").json()["variant"] for _ in range(80)} == {0, 1}


def test_runs_and_observations_record_their_arm(api: httpx.Client) -> None:
    v1, v2 = two_versions(api)
    put(api, "greet", "production", split=[{"version_id": v1, "weight": 50}, {"version_id": v2, "weight": 50}])
    arms = [Arm(v1, 50), Arm(v2, 50)]
    for key in ("a", "b", "c", "d", "e", "f"):
        run = api.post("/api/prompts/greet/run", json={"variables": {"who": "Ada"}, "key": key, **TENANT})
        assert run.status_code == 201, run.text
        variant = pick(arms, bucket("greet", "production", key))
        assert run.json()["variant"] == variant and run.json()["version_id"] == [v1, v2][variant]
    observed = api.post(
        "/api/observations",
        json={
            **TENANT,
            "items": [
                {
                    "id": "o1",
                    "prompt": "greet",
                    "label": "production",
                    "version_id": v2,
                    "provider": "openai",
                    "latency_ms": 12.0,
                },
                {
                    "id": "o2",
                    "prompt": "greet",
                    "label": "production",
                    "version_id": v1,
                    "provider": "openai",
                    "error": "timeout",
                },
            ],
        },
    )
    assert observed.status_code in (200, 202), observed.text
    assert [f["status"] for f in observed.json()["items"]] == ["accepted", "accepted"]


def test_history_and_rollback_of_a_split(api: httpx.Client) -> None:
    v1, v2 = two_versions(api)
    assert put(api, "greet", "production", version_id=v1).status_code == 200
    split = [{"version_id": v1, "weight": 80}, {"version_id": v2, "weight": 20}]
    assert put(api, "greet", "production", split=split, reason="try v2").status_code == 200
    assert put(api, "greet", "production", split=split).status_code == 200  # the same split again: no event
    moved = put(api, "greet", "production", version_id=v2, reason="all in")
    assert moved.json()["split"] is None

    history = api.get("/api/prompts/greet/labels/production/history", params=TENANT).json()["items"]
    assert [(e["kind"], e["from_version_id"], e["to_version_id"]) for e in history] == [
        ("move", v1, v2),
        ("split", v1, v1),
        ("move", None, v1),
    ]
    assert history[1]["split"] == split and history[1]["reason"] == "try v2"
    assert history[0]["details"] == {"from_split": split}

    back = api.post("/api/prompts/greet/labels/production/rollback", json=TENANT)
    assert back.status_code == 200, back.text
    assert back.json()["split"] == split  # rolling back the move restores the split before it
    assert resolve(api, "greet", label="production", key="x").json()["split"] is not None
    back = api.post("/api/prompts/greet/labels/production/rollback", json=TENANT)
    assert back.json()["split"] is None and back.json()["version_id"] == v1  # and then the split itself
    assert "split" not in resolve(api, "greet", label="production").json()
    kinds = [e["kind"] for e in api.get("/api/prompts/greet/labels/production/history", params=TENANT).json()["items"]]
    assert kinds[:2] == ["rollback", "rollback"]


@pytest.mark.parametrize(
    ("split", "needle"),
    [
        ([{"version_id": "A", "weight": 60}, {"version_id": "B", "weight": 50}], "sum to 110"),
        ([{"version_id": "A", "weight": 50}, {"version_id": "A", "weight": 50}], "split[1].version_id"),
        ([{"version_id": "A", "weight": 50}, {"version_id": "OTHER", "weight": 50}], "split[1].version_id"),
        ([{"version_id": "A", "weight": 0}, {"version_id": "B", "weight": 100}], "weight"),
        ([{"version_id": "A", "weight": 20}] * 6, "split"),
    ],
)
def test_bad_splits_are_refused_naming_the_field(api: httpx.Client, split: list[dict], needle: str) -> None:
    v1, v2 = two_versions(api)
    other = create_template(api, "other", "Bye {{ who }}", **TENANT)
    ids = {"A": v1, "B": v2, "OTHER": pin(api, other["id"])["id"]}
    body = [{**arm, "version_id": ids[arm["version_id"]]} for arm in split]
    answer = put(api, "greet", "production", split=body)
    assert answer.status_code in (400, 422), answer.text
    assert needle in answer.json()["detail"]
    if answer.status_code == 422:
        assert answer.json()["error"] == "invalid_split"
    assert api.get("/api/prompts/greet/labels/production/history", params=TENANT).status_code == 404  # nothing written


def test_split_on_latest_and_ambiguous_bodies_are_refused(api: httpx.Client) -> None:
    v1, v2 = two_versions(api)
    split = [{"version_id": v1, "weight": 50}, {"version_id": v2, "weight": 50}]
    latest = put(api, "greet", "latest", split=split)
    assert latest.status_code == 422 and latest.json()["error"] == "reserved_label"
    both = put(api, "greet", "production", split=split, version_id=v1)
    assert both.status_code == 422 and both.json()["error"] == "version_or_split"
    assert put(api, "greet", "production").status_code == 422
    one = put(api, "greet", "production", split=[{"version_id": v2, "weight": 100}])
    assert one.status_code == 200 and one.json()["split"] is None  # one arm is a plain move


def test_the_web_ui_shows_a_split_label(api: httpx.Client) -> None:
    v1, v2 = two_versions(api)
    put(api, "greet", "production", split=[{"version_id": v1, "weight": 75}, {"version_id": v2, "weight": 25}])
    page = api.get("/ui/prompts/greet", params=TENANT)
    assert page.status_code == 200, page.text[:500]
    assert "split</span>" in page.text and f"#{v1}</a> 75%" in page.text and f"#{v2}</a> 25%" in page.text
