"""The UI shows chat prompts: each message with its role, the history placeholder, the input schema, a version's
tools and response schema, a chat result's rendered messages and tool calls - all HTML-escaped."""

from __future__ import annotations

from typing import Any

from tests.e2e.chat.support import HISTORY, MESSAGES, RESPONSE_FORMAT, TENANT, TOOLS, VARIABLES, chat_template

XSS = "<script>alert(1)</script>"


def test_the_prompt_page_shows_messages_tools_and_response_schema_escaped(make_client: Any) -> None:
    client = make_client()
    hostile = [*MESSAGES[:-1], {"role": "user", "content": "{{ question }} " + XSS}]
    first = client.post("/api/prompt-templates", json=chat_template()).json()
    second = client.post("/api/prompt-templates", json=chat_template(messages=hostile)).json()
    tools = [{**TOOLS[0], "function": {**TOOLS[0]["function"], "description": "Look up " + XSS}}]
    pinned = client.post(
        f"/api/prompt-templates/{second['id']}/ensure-version",
        json={
            "provider": "openai",
            "model_id": "gpt-4o",
            "tools": tools,
            "tool_choice": "auto",
            "response_format": RESPONSE_FORMAT,
        },
    )
    assert pinned.status_code == 201, pinned.text
    forced = {"type": "function", "function": {"name": "lookup_capital"}}
    run = client.post(
        f"/api/prompt-templates/{first['id']}/run",
        json={
            "provider": "openai",
            "model_id": "gpt-4o",
            "variables": {**VARIABLES, "history": HISTORY},
            "tools": TOOLS,
            "tool_choice": forced,
        },
    )
    assert run.status_code == 201, run.text

    page = client.get("/ui/prompts/capitals", params=TENANT)
    assert page.status_code == 200
    html = page.text
    assert (
        '<span class="badge role">system</span><pre class="body">You are {{ persona }}. Answer in {{ language }}.</pre>'
        in html
    )
    assert '<span class="badge role">placeholder</span> <code>history</code>' in html
    assert "Input schema" in html and "Klingon" not in html and "English" in html
    assert "<code>lookup_capital</code>" in html and "response schema:" in html and "<code>answer</code>" in html
    assert XSS not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<span class="d-add">+{{ question }} &lt;script&gt;alert(1)&lt;/script&gt;</span>' in html

    result = client.get(f"/ui/results/{run.json()['id']}").text
    assert '<span class="badge role">user</span><pre class="body">Capital of Italy?</pre>' in result
    assert "Tool calls" in result and "<code>lookup_capital</code>" in result
