"""Done when, through LiteLLM's proxy: the application calls LiteLLM (the openai SDK), LiteLLM calls an upstream
OpenAI-compatible server (the stub), and that upstream starts answering as another build (another system_fingerprint
and dated model). The label was pinned through the same proxy by one ensure-version probe; the application only
fetches the prompt with prompter_client and reports its calls - the label shows `drift: true` with the identity LiteLLM
passed on, and no /run was made."""

from __future__ import annotations

from pathlib import Path

import httpx
import openai
import pytest
from prompter_client import Prompter
from prompter_client.observe import Reporter

from service.app import create_app
from service.settings import Settings
from tests.conftest import need
from tests.integration.providers.wire_server import Reply, WireServer, openai_chat
from tests.support.litellm import litellm_binary, litellm_proxy
from tests.support.live_server import LiveServer

KEY = "sk-litellm-test-key"
TENANT = {"org_id": "acme", "workspace_id": "litellm"}


def config(upstream: str) -> str:
    return f"""
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_base: {upstream}/v1
      api_key: sk-upstream-not-checked
general_settings:
  master_key: {KEY}
litellm_settings:
  telemetry: false
"""


@pytest.mark.slow
def test_a_rebuilt_upstream_behind_litellm_drifts_the_label_from_observations(sqlite_url: str, tmp_path: Path) -> None:
    binary = litellm_binary()
    if binary is None:
        need("litellm not found (./scripts/test installs litellm[proxy] into .venv-litellm)")
    upstream = WireServer().start()
    upstream.script(default=Reply(body=openai_chat(fingerprint="fp_old_build", model="gpt-4o-2024-08-06")))
    try:
        with litellm_proxy(binary, config(upstream.url), tmp_path / "litellm") as proxy:
            settings = Settings(
                db_url=sqlite_url, db_auto_migrate=True, openai_api_key=KEY, openai_base_url=f"{proxy}/v1"
            )
            with LiveServer(create_app(settings)) as base_url, httpx.Client(base_url=base_url, timeout=60) as api:
                template = api.post("/api/prompt-templates", json={"name": "greet", "body": "Hi {{ who }}", **TENANT})
                assert template.status_code == 201, template.text
                pinned = api.post(
                    f"/api/prompt-templates/{template.json()['id']}/ensure-version",
                    json={"provider": "openai", "model_id": "gpt-4o"},
                )
                assert pinned.status_code == 201, pinned.text
                old = pinned.json()["captured"]
                moved = api.put(
                    "/api/prompts/greet/labels/production", json={"version_id": pinned.json()["id"], **TENANT}
                )
                assert moved.status_code == 200, moved.text

                upstream.script(default=Reply(body=openai_chat(fingerprint="fp_new_build", model="gpt-4o-2024-11-20")))
                llm = openai.OpenAI(base_url=f"{proxy}/v1", api_key=KEY)
                with Prompter(base_url, **TENANT) as prompter, Reporter(base_url, **TENANT) as reporter:
                    prompt = prompter.get_prompt("greet", label="production")
                    assert prompt.drift is False
                    with reporter.observe(prompt) as call:
                        messages = [{"role": "user", "content": prompt.render(who="Ada")}]
                        call.response(llm.chat.completions.create(model=prompt.version.model_id, messages=messages))
                    assert reporter.flush() and reporter.sent == 1
                resolved = api.get("/api/prompts/greet", params=TENANT).json()
                assert resolved["drift"] is True, (old, resolved)
                assert resolved["reported"] != old
                print("pinned through LiteLLM:", old, "reported after the rebuild:", resolved["reported"])
                results = api.get(f"/api/prompt-templates/{template.json()['id']}/results").json()["items"]
                assert results == []  # not a single /run
    finally:
        upstream.stop()
