"""Chat prompts end to end on the in-process app with the fake LLM: create, pin with a bundle, label, resolve with ETag,
run through the label (tool call and structured output), typed variables, the history placeholder, diffs, dedup."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.chat.support import (
    HISTORY,
    INPUT_SCHEMA,
    MESSAGES,
    RESPONSE_FORMAT,
    TENANT,
    TOOLS,
    VARIABLES,
    chat_template,
)


def _unique_violations(client: Any) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("prompter_db_unique_violation_total") and 'table="prompt_templates"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _pin(client: Any, tid: int, provider: str = "openai", **bundle: Any) -> dict[str, Any]:
    body = {"provider": provider, "model_id": "m-1", "params": {"temperature": 0.2, "stop": ["\n\n"]}, **bundle}
    response = client.post(f"/api/prompt-templates/{tid}/ensure-version", json=body)
    assert response.status_code in (200, 201), response.text
    return response.json()


def test_a_chat_prompt_is_created_with_its_variables_and_deduplicated(client: Any) -> None:
    created = client.post("/api/prompt-templates", json=chat_template())
    assert created.status_code == 201, created.text
    template = created.json()
    assert template["type"] == "chat" and template["body"] == ""
    assert template["messages"] == MESSAGES
    assert template["variables"] == ["persona", "language", "question"]  # across messages, first appearance
    assert template["input_schema"] == INPUT_SCHEMA

    before = _unique_violations(client)
    # The same template with keys in another order is the same canonical content: 409, counted.
    shuffled = [dict(reversed(list(m.items()))) for m in MESSAGES]
    again = client.post("/api/prompt-templates", json=chat_template(messages=shuffled))
    assert again.status_code == 409, again.text
    assert again.json()["error"] == "duplicate_template" and again.json()["existing_id"] == template["id"]
    assert _unique_violations(client) == before + 1

    # Another message is another revision.
    changed = client.post(
        "/api/prompt-templates",
        json=chat_template(messages=MESSAGES[:-1] + [MESSAGES[-1]] * 1 + [{"role": "user", "content": "Be brief."}]),
    )
    assert changed.status_code == 201 and changed.json()["revision"] == 2


def test_the_done_when_scenario_pin_label_resolve_run_and_diff(client: Any) -> None:
    tid = client.post("/api/prompt-templates", json=chat_template()).json()["id"]
    version = _pin(client, tid, tools=TOOLS, tool_choice="auto", response_format=RESPONSE_FORMAT)
    assert version["tools"] == TOOLS and version["response_format"] == RESPONSE_FORMAT
    assert version["params"] == {"temperature": 0.2, "stop": ["\n\n"]}
    # The bundle is part of the version key: another bundle is another version, the same bundle the same one.
    assert _pin(client, tid, tools=TOOLS, tool_choice="auto", response_format=RESPONSE_FORMAT)["id"] == version["id"]
    plain = _pin(client, tid)
    assert plain["id"] != version["id"] and plain["pvk"] != version["pvk"]

    moved = client.put("/api/prompts/capitals/labels/production", json={"version_id": version["id"], **TENANT})
    assert moved.status_code == 200, moved.text

    resolved = client.get("/api/prompts/capitals", params=TENANT)
    assert resolved.status_code == 200, resolved.text
    prompt = resolved.json()
    assert prompt["type"] == "chat" and prompt["messages"] == MESSAGES and prompt["input_schema"] == INPUT_SCHEMA
    assert prompt["version"]["id"] == version["id"]
    assert prompt["version"]["tools"] == TOOLS and prompt["version"]["tool_choice"] == "auto"
    assert prompt["version"]["response_format"] == RESPONSE_FORMAT
    etag = resolved.headers["etag"]
    assert client.get("/api/prompts/capitals", params=TENANT, headers={"If-None-Match": etag}).status_code == 304

    run = client.post(
        "/api/prompts/capitals/run",
        params={"label": "production"},
        json={"variables": {**VARIABLES, "history": HISTORY}, **TENANT},
    )
    assert run.status_code == 201, run.text
    result = run.json()
    assert result["label"] == "production" and result["identity_matches_label"] is True
    assert result["rendered_prompt"] == ""
    rendered = result["rendered_messages"]
    assert rendered[0] == {"role": "system", "content": "You are a geography tutor. Answer in English."}
    assert rendered[5:7] == HISTORY  # the placeholder filled in place
    assert rendered[-1] == {"role": "user", "content": "Capital of Italy?"}
    assert len(rendered) == len(MESSAGES) - 1 + len(HISTORY)
    # tool_choice auto: the fake answers with JSON derived from the schema, which the run checks.
    assert result["schema_valid"] is True
    assert set(result["structured_output"]) == {"answer", "confidence"}
    assert result["tool_calls"] is None

    second = client.post(
        "/api/prompt-templates",
        json=chat_template(
            messages=[
                {"role": "system", "content": "You are {{ persona }}. Answer in {{ language }}, briefly."},
                *MESSAGES[1:5],
                MESSAGES[6],
            ]
        ),
    )
    diff = client.get(f"/api/prompt-templates/{second.json()['id']}/diff", params={"against": tid})
    assert diff.status_code == 200, diff.text
    changes = diff.json()["messages"]
    assert [(c["change"], c["from_index"], c["to_index"]) for c in changes] == [("changed", 0, 0), ("removed", 5, None)]
    assert "+You are {{ persona }}. Answer in {{ language }}, briefly." in changes[0]["unified"]
    assert "[placeholder history]" in diff.json()["unified"]


@pytest.mark.parametrize(
    "provider,finish", [("openai", "finish_reason"), ("anthropic", "stop_reason"), ("google", "finishReason")]
)
def test_a_forced_tool_comes_back_as_a_tool_call_in_each_providers_shape(
    client: Any, provider: str, finish: str
) -> None:
    tid = client.post("/api/prompt-templates", json=chat_template()).json()["id"]
    run = client.post(
        f"/api/prompt-templates/{tid}/run",
        json={
            "provider": provider,
            "model_id": "m-1",
            "variables": VARIABLES,
            "tools": TOOLS,
            "tool_choice": {"type": "function", "function": {"name": "lookup_capital"}},
            "response_format": RESPONSE_FORMAT,
        },
    )
    assert run.status_code == 201, run.text
    result = run.json()
    (call,) = result["tool_calls"]
    assert call["name"] == "lookup_capital" and call["arguments"] == {"country": "text"}
    assert finish in result["provider_metadata"]
    assert result["schema_valid"] is None  # a tool call is not the structured answer
    version = client.get(f"/api/prompt-templates/{tid}/versions").json()["items"][0]
    assert version["tool_choice"] == {"type": "function", "function": {"name": "lookup_capital"}}


def test_typed_variables_list_every_violation(client: Any) -> None:
    tid = client.post("/api/prompt-templates", json=chat_template()).json()["id"]
    bad = client.post(
        f"/api/prompt-templates/{tid}/run",
        json={
            "provider": "openai",
            "model_id": "m",
            "variables": {"persona": 3, "language": "Klingon", "question": "?"},
        },
    )
    assert bad.status_code == 422, bad.text
    body = bad.json()
    assert body["error"] == "invalid_variables"
    assert [v["path"] for v in body["violations"]] == ["language", "persona", "question"]

    missing = client.post(
        f"/api/prompt-templates/{tid}/run", json={"provider": "openai", "model_id": "m", "variables": {"persona": "x"}}
    )
    assert missing.status_code == 422 and missing.json()["error"] == "invalid_variables"
    assert {v["message"] for v in missing.json()["violations"]} == {
        "'language' is a required property",
        "'question' is a required property",
    }


def test_without_a_schema_every_placeholder_is_required_and_history_is_checked(client: Any) -> None:
    template = chat_template(name="plain")
    del template["input_schema"]
    tid = client.post("/api/prompt-templates", json=template).json()["id"]
    run = lambda variables: client.post(  # noqa: E731
        f"/api/prompt-templates/{tid}/run", json={"provider": "openai", "model_id": "m", "variables": variables}
    )
    missing = run({"persona": "p"})
    assert missing.status_code == 422 and missing.json()["missing"] == ["language", "question"]
    # No history: the placeholder renders as no messages.
    ok = run({"persona": "p", "language": "English", "question": "q?"})
    assert ok.status_code == 201 and len(ok.json()["rendered_messages"]) == len(MESSAGES) - 1
    bad_history = run(
        {"persona": "p", "language": "English", "question": "q?", "history": [{"role": "tool", "content": "x"}]}
    )
    assert bad_history.status_code == 422, bad_history.text
    assert (
        bad_history.json()["error"] == "invalid_history" and bad_history.json()["path"] == "variables.history[0].role"
    )


def test_the_render_budget_covers_the_whole_chat_history_included(make_client: Any) -> None:
    client = make_client(max_rendered_bytes=2000)
    template = chat_template(name="budget")
    del template["input_schema"]
    tid = client.post("/api/prompt-templates", json=template).json()["id"]
    history = [{"role": "user", "content": "x" * 500}] * 4
    response = client.post(
        f"/api/prompt-templates/{tid}/run",
        json={"provider": "openai", "model_id": "m", "variables": {**VARIABLES, "history": history}},
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "rendered_prompt_too_large"
    assert response.json()["rendered_bytes"] > 2000
