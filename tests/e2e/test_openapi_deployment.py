"""The OpenAPI document describes the deployment as configured: with auth on a bearer scheme (health and readiness
public) and no tenant parameters; with auth off the tenant parameters and body fields required where the server
requires them. Every status a route can answer is documented."""

from __future__ import annotations

from typing import Any


def operations(document: dict[str, Any]):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_with_auth_on_the_document_has_a_bearer_scheme_and_no_tenant_parameters(make_client) -> None:
    document = make_client(auth="required").get("/schema/openapi.json").json()
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["bearer"]["description"],
    }
    assert document["security"] == [{"bearer": []}]
    for path, method, operation in operations(document):
        names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        assert not names & {"org_id", "workspace_id"}, (method, path)
        if not path.startswith("/api/"):
            assert operation["security"] == [], path
        else:
            assert "security" not in operation, path  # the document-wide bearer requirement applies


def test_with_auth_off_tenant_parameters_are_required_where_the_server_requires_them(make_client) -> None:
    document = make_client().get("/schema/openapi.json").json()
    assert "securitySchemes" not in document["components"] and "security" not in document
    tenant_params = {
        (path, method, p["name"]): p.get("required", False)
        for path, method, operation in operations(document)
        for p in operation.get("parameters", [])
        if p["name"] in {"org_id", "workspace_id"}
    }
    assert tenant_params[("/api/prompts/{name}", "get", "org_id")] is True
    assert tenant_params[("/api/prompts/{name}/labels/{label}", "delete", "workspace_id")] is True
    assert tenant_params[("/api/prompt-templates", "get", "org_id")] is False  # a filter there
    # A move may name the tenant in its query or in its body: neither alone is required.
    assert tenant_params[("/api/prompts/{name}/labels/{label}", "put", "workspace_id")] is False
    # A create, too, may name the tenant in its query or in its body (one tenant rule for every route).
    assert tenant_params[("/api/prompt-templates", "post", "org_id")] is False
    schemas = document["components"]["schemas"]
    assert "org_id" not in schemas["TemplateCreate"].get("required", [])
    assert "org_id" not in schemas["LabelMove"].get("required", [])


def test_every_status_a_route_can_answer_is_documented(make_client) -> None:
    document = make_client().get("/schema/openapi.json").json()
    paths = document["paths"]
    for path in ("/api/prompt-templates/{template_id}/diff", "/api/versions/{version_id}/diff"):
        refused = paths[path]["get"]["responses"]["422"]["description"]
        assert "`not_comparable`" in refused and "`diff_too_large`" in refused
    move = paths["/api/prompts/{name}/labels/{label}"]["put"]["responses"]
    assert "`label_busy`" in move["409"]["description"] and "`too_many_writes`" in move["429"]["description"]
    assert {"409", "429"} <= set(paths["/api/prompts/{name}/labels/{label}"]["delete"]["responses"])
    assert "429" in paths["/api/prompt-templates"]["post"]["responses"]
