"""Diffs over real HTTP: two revisions of one prompt, two versions (body + provider, model, params, identity), and the
refusals (another name or workspace → 422, unknown or another tenant's id → 404)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from service.providers import ProviderRegistry
from tests.e2e.labels_support import TENANT, create_template, live_api, pin


@pytest.fixture
def api(sqlite_url: str) -> Iterator[tuple[httpx.Client, ProviderRegistry]]:
    registry = ProviderRegistry.fakes()
    with live_api(sqlite_url, registry) as client:
        yield client, registry


def test_template_diff(api) -> None:
    client, _ = api
    one = create_template(client, "greet", "Hello {{ who }}\nThanks, {{ team }}", **TENANT)
    two = create_template(client, "greet", "Hi {{ who }}\nThanks, {{ team }}\nLang: {{ lang }}", **TENANT)
    response = client.get(f"/api/prompt-templates/{two['id']}/diff", params={"against": one["id"]})
    assert response.status_code == 200, response.text
    diff = response.json()
    assert diff["from"] == one["id"] and diff["to"] == two["id"]
    assert diff["unified"].splitlines() == [
        "--- greet revision 1",
        "+++ greet revision 2",
        "@@ -1,2 +1,3 @@",
        "-Hello {{ who }}",
        "+Hi {{ who }}",
        " Thanks, {{ team }}",
        "+Lang: {{ lang }}",
    ]
    assert diff["variables_added"] == ["lang"] and diff["variables_removed"] == []
    back = client.get(f"/api/prompt-templates/{one['id']}/diff", params={"against": two["id"]}).json()
    assert back["variables_added"] == [] and back["variables_removed"] == ["lang"]
    same = client.get(f"/api/prompt-templates/{one['id']}/diff", params={"against": one["id"]}).json()
    assert same["unified"] == "" and same["variables_added"] == same["variables_removed"] == []


def test_template_diff_refusals(api) -> None:
    client, _ = api
    one = create_template(client, "greet", "Hello {{ who }}", **TENANT)
    other_name = create_template(client, "farewell", "Bye {{ who }}", **TENANT)
    other_workspace = create_template(client, "greet", "Hello {{ who }}", org_id="acme", workspace_id="elsewhere")
    for against in (other_name["id"], other_workspace["id"]):
        response = client.get(f"/api/prompt-templates/{one['id']}/diff", params={"against": against})
        assert response.status_code == 422 and response.json()["error"] == "not_comparable", response.text
    missing = client.get(f"/api/prompt-templates/{one['id']}/diff", params={"against": 999999})
    assert missing.status_code == 404 and missing.json()["error"] == "template_not_found"
    assert client.get(f"/api/prompt-templates/{one['id']}/diff").status_code == 400  # `against` is required


def test_version_diff_lists_pinned_fields_and_identity(api) -> None:
    client, registry = api
    one = create_template(client, "greet", "Hello {{ who }}", **TENANT)
    two = create_template(client, "greet", "Hi {{ who }}", **TENANT)
    first = pin(client, one["id"], temperature=0.2)
    registry.get("openai").set_identity("fp_new_build")
    second = pin(client, two["id"], model_id="gpt-4o-mini", temperature=0.7, seed=3)

    response = client.get(f"/api/versions/{second['id']}/diff", params={"against": first["id"]})
    assert response.status_code == 200, response.text
    diff = response.json()
    assert (diff["from"], diff["to"]) == (first["id"], second["id"])
    assert (diff["from_template_id"], diff["to_template_id"]) == (one["id"], two["id"])
    assert "-Hello {{ who }}" in diff["unified"].splitlines() and "+Hi {{ who }}" in diff["unified"].splitlines()
    changes = {change["field"]: (change["from"], change["to"]) for change in diff["changes"]}
    assert changes == {
        "model_id": ("gpt-4o", "gpt-4o-mini"),
        "params.temperature": (0.2, 0.7),
        "params.seed": (None, 3),
        "captured.system_fingerprint": (first["captured"]["system_fingerprint"], "fp_new_build"),
        "captured.model": ("gpt-4o", "gpt-4o-mini"),
    }

    # same template, only the identity moved: an empty body diff and one changed field
    registry.get("openai").set_identity("fp_newer_build")
    third = pin(client, two["id"], model_id="gpt-4o-mini", temperature=0.7, seed=3, refresh=True)
    only_identity = client.get(f"/api/versions/{third['id']}/diff", params={"against": second["id"]}).json()
    assert only_identity["unified"] == ""
    assert only_identity["changes"] == [
        {"field": "captured.system_fingerprint", "from": "fp_new_build", "to": "fp_newer_build"}
    ]


def test_version_diff_refusals(api) -> None:
    client, _ = api
    greet = pin(client, create_template(client, "greet", "Hello {{ who }}", **TENANT)["id"])
    farewell = pin(client, create_template(client, "farewell", "Bye {{ who }}", **TENANT)["id"])
    response = client.get(f"/api/versions/{greet['id']}/diff", params={"against": farewell["id"]})
    assert response.status_code == 422 and response.json()["error"] == "not_comparable"
    missing = client.get(f"/api/versions/{greet['id']}/diff", params={"against": 999999})
    assert missing.status_code == 404 and missing.json()["error"] == "version_not_found"
