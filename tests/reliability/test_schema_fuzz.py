"""Schemathesis against the app's own OpenAPI (/schema/openapi.json) with every check (`--checks all`) and every phase
(coverage, fuzzing, stateful), on a live server on PostgreSQL: no 5xx, every response (errors included) as documented,
schema-valid input accepted, schema-invalid input refused, 405 with a true `Allow` for undocumented methods.

It runs the `st` command line, the same run an operator would do, bounded by `--max-examples` per operation and
`--max-time` overall (about two minutes on a busy 2-core machine). Generation is deterministic so CI is reproducible;
raise EXAMPLES / MAX_TIME_S locally to dig deeper. tests/reliability/schemathesis.toml says which statuses count as
accepting schema-valid input (422 is a domain refusal) and that strings carry no NUL.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import need

EXAMPLES = 25  # per operation and phase
MAX_TIME_S = 120
CONFIG = Path(__file__).with_name("schemathesis.toml")


def _seed(base_url: str) -> None:
    """A template with a version, a result and a label, so small generated ids and names hit real rows."""
    template = httpx.post(
        f"{base_url}/api/prompt-templates",
        timeout=10,
        json={"org_id": "0", "workspace_id": "0", "name": "0", "body": "Hi {{ who }}"},
    )
    assert template.status_code == 201, template.text
    tid = template.json()["id"]
    run = httpx.post(
        f"{base_url}/api/prompt-templates/{tid}/run",
        timeout=10,
        json={"provider": "openai", "model_id": "gpt-4o", "variables": {"who": "seed"}},
    )
    assert run.status_code == 201, run.text
    label = httpx.put(
        f"{base_url}/api/prompts/0/labels/0",
        timeout=10,
        json={"version_id": run.json()["version_id"], "org_id": "0", "workspace_id": "0"},
    )
    assert label.status_code == 200, label.text


def _st() -> list[str]:
    found = shutil.which("st", path=str(Path(sys.executable).parent))
    if found is None:
        need("schemathesis' `st` command is not installed (pip install -e '.[test]')")
    return [str(found)]


@pytest.mark.slow
def test_openapi_holds_under_every_schemathesis_check(pg_url, live_server, tmp_path):
    server = live_server(db_url=pg_url, db_pool_size=5)
    _seed(server.url)
    command = [
        *_st(),
        "--config-file",
        str(CONFIG),
        "--no-color",
        "run",
        f"{server.url}/schema/openapi.json",
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        str(EXAMPLES),
        "--max-time",
        str(MAX_TIME_S),
        "--generation-deterministic",
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--report",
        "junit",
        "--report-junit-path",
        str(tmp_path / "junit.xml"),
    ]
    # `st` keeps its cache (.schemathesis/) in its working directory: run it in tmp_path, never in the checkout.
    done = subprocess.run(command, capture_output=True, text=True, timeout=MAX_TIME_S + 180, cwd=tmp_path)
    output = done.stdout + done.stderr
    print(output[-3000:])
    assert done.returncode == 0, output[-20000:]
    # The run really covered the API (an empty schema or an unreachable server must not pass silently).
    assert "Tested: " in output and "Selected: " in output
    tested = int(output.split("Tested: ")[1].split()[0])
    assert tested >= 19, output[-3000:]
