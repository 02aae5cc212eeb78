"""The tenant is one dependency with one rule (service/http/tenant.py, TenantScope.resolve): every route validates
`org_id` / `workspace_id` the same way, and a route that acts in one tenant refuses a request naming none."""

from __future__ import annotations

import pytest

TENANT = {"org_id": "acme", "workspace_id": "support"}

TENANT_ROUTES = [
    "/api/prompt-templates",
    "/api/prompts/greet",
    "/api/prompts/greet/labels",
    "/api/prompts/greet/labels/production/history",
]


@pytest.mark.parametrize("route", TENANT_ROUTES)
@pytest.mark.parametrize("query", ["org_id=", "workspace_id=", "org_id=&workspace_id=support"])
def test_an_empty_tenant_id_is_the_same_400_on_every_route(client, route, query):
    # GET /api/prompt-templates?org_id= used to answer 200, listing every workspace's templates.
    client.post("/api/prompt-templates", json={**TENANT, "name": "greet", "body": "Hi {{ who }}"})
    response = client.get(f"{route}?{query}")
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"


def test_the_ui_validates_the_tenant_like_the_api(client):
    assert client.get("/ui/?org_id=").status_code == 400


@pytest.mark.parametrize(
    ("method", "route", "body"),
    [
        ("POST", "/api/prompt-templates", {"name": "greet", "body": "Hi"}),
        ("GET", "/api/prompts/greet", None),
        ("GET", "/api/prompts/greet/labels", None),
        ("PUT", "/api/prompts/greet/labels/staging", {"version_id": 1}),
        ("POST", "/api/prompts/greet/run", {"variables": {}}),
        ("POST", "/api/prompts/greet/labels/staging/rollback", {}),
        ("DELETE", "/api/prompts/greet/labels/staging", None),
    ],
)
def test_a_route_acting_in_one_tenant_refuses_a_request_naming_none(client, method, route, body):
    response = client.request(method, route, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "missing_tenant"


def test_the_tenant_may_come_from_the_query_or_the_body(client):
    from_body = client.post("/api/prompt-templates", json={**TENANT, "name": "greet", "body": "Hi"})
    assert from_body.status_code == 201, from_body.text
    from_query = client.post("/api/prompt-templates", params=TENANT, json={"name": "greet", "body": "Hi again"})
    assert from_query.status_code == 201, from_query.text
    assert (from_query.json()["org_id"], from_query.json()["workspace_id"]) == ("acme", "support")
