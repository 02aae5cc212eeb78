"""The documented error examples hold everywhere they are stated: the server's answer (status and code), the OpenAPI
description of that status on that route, the README and the client's README. One status per family: 400 for input
that breaks a rule the schema states (a label name's pattern), 422 for a schema-valid request the domain refuses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.labels_support import TENANT

ROOT = Path(__file__).resolve().parents[2]
# The README and every page of the documentation site.
README = "\n".join(p.read_text() for p in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))])
CLIENT_README = (ROOT / "client" / "README.md").read_text()
HARDENING = (ROOT / "docs" / "hardening.md").read_text()

# (method, path, query, body, status, code); {tid}/{other} are filled in from the seeded rows.
EXAMPLES = [
    ("get", "/api/prompts/greet", {**TENANT, "label": "production", "version_id": "{vid}"}, None, 422,
     "label_and_version"),
    ("put", "/api/prompts/greet/labels/latest", None, {"version_id": "{vid}", **TENANT}, 422, "reserved_label"),
    ("put", "/api/prompts/greet/labels/Prod", None, {"version_id": "{vid}", **TENANT}, 400, "invalid_label"),
    ("get", "/api/prompts/greet", {**TENANT, "label": "Prod"}, None, 400, "invalid_label"),
    ("get", "/api/prompt-templates/{tid}/diff", {"against": "{other}"}, None, 422, "not_comparable"),
    ("get", "/api/prompts/greet", {"label": "production"}, None, 422, "missing_tenant"),
]  # fmt: skip


@pytest.fixture
def seeded(client):
    one = client.post("/api/prompt-templates", json={"name": "greet", "body": "Hi {{ who }}", **TENANT}).json()
    other = client.post("/api/prompt-templates", json={"name": "bye", "body": "Bye", **TENANT}).json()
    version = client.post(
        f"/api/prompt-templates/{one['id']}/ensure-version", json={"provider": "openai", "model_id": "gpt-4o"}
    ).json()
    return client, {"tid": one["id"], "other": other["id"], "vid": version["id"]}


def _route(path: str) -> str:
    """The OpenAPI path template of an example's path."""
    path = path.replace("{tid}", "{template_id}")
    path = re.sub(r"^/api/prompts/[^/]+", "/api/prompts/{name}", path)
    return re.sub(r"/labels/[^/]+", "/labels/{label}", path)


def _fill(value, ids):
    if isinstance(value, dict):
        return {key: _fill(item, ids) for key, item in value.items()}
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in ids:
        return ids[value[1:-1]]
    return value.format(**ids) if isinstance(value, str) else value


@pytest.mark.parametrize(("method", "path", "query", "body", "status", "code"), EXAMPLES)
def test_documented_error_examples_hold(seeded, method, path, query, body, status, code) -> None:
    client, ids = seeded
    kwargs = {"params": _fill(query, ids)} if query else {}
    if body is not None:
        kwargs["json"] = _fill(body, ids)
    response = client.request(method.upper(), _fill(path, ids), **kwargs)
    assert (response.status_code, response.json()["error"]) == (status, code), response.text

    # The OpenAPI document lists that status on that route, naming the code.
    document = client.get("/schema/openapi.json").json()
    description = document["paths"][_route(path)][method]["responses"][str(status)]
    assert f"`{code}`" in description["description"], description

    # The user documentation states the same status for the code wherever it names the code.
    for text in (README, CLIENT_README, HARDENING):
        stated = {int(s) for s in re.findall(rf"\b([45]\d\d)\b[^.;|\n]{{0,40}}`{code}`", text)}
        assert stated <= {status}, (code, stated)
    assert re.search(rf"\b{status}\b[^.;|\n]{{0,40}}`{code}`", README + HARDENING), code
