"""The tutorials' shell blocks, run verbatim against a fresh server on SQLite and on PostgreSQL.

Each tutorial page (and the README's walk-through, between its `walkthrough` markers) is a script: its ```bash blocks,
joined in order, run with `bash -euo pipefail`. The only thing substituted is the server's address, through the
`PROMPTER` variable the pages themselves read (`export PROMPTER=${PROMPTER:-http://localhost:8000}`). Each ```text
block right after a bash block is output the page promises: its lines must appear in the script's output, in order,
where `…` stands for any text (ids, counts, hashes).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from service.app import create_app
from service.settings import Settings
from tests.conftest import need
from tests.support.live_server import LiveServer

REPO = Path(__file__).resolve().parents[2]
PAGES = ["README.md", "docs/tutorials/first-prompt.md", "docs/tutorials/deploying-prompts.md"]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)


@dataclass
class Tutorial:
    page: str
    script: str
    promised: list[str]  # lines of the ```text blocks that follow bash blocks


def tutorial(page: str) -> Tutorial:
    text = (REPO / page).read_text()
    if page == "README.md":
        start, end = "<!-- walkthrough:start -->", "<!-- walkthrough:end -->"
        assert start in text and end in text, "README.md lacks the walkthrough markers"
        text = text[text.index(start) : text.index(end)]
    blocks, promised, previous = [], [], ""
    for match in FENCE.finditer(text):
        kind, body = match.group(1), match.group(2)
        if kind == "bash":
            blocks.append(body)
        elif kind == "text" and previous == "bash":
            promised += [line for line in body.splitlines() if line.strip()]
        previous = kind
    assert blocks, f"{page} has no bash blocks"
    script = "\n".join(blocks)
    assert "PROMPTER=${PROMPTER:-http://localhost:8000}" in script, f"{page} must read the server address from PROMPTER"
    return Tutorial(page, script, promised)


def promised_pattern(line: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if part == "…" else re.escape(part) for part in re.split("(…)", line)))


def run(tut: Tutorial, base_url: str) -> str:
    env = {
        **os.environ,
        "PROMPTER": base_url,
        # `python` in the pages is the environment Prompter and its client are installed in.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "client"), os.environ.get("PYTHONPATH", "")]),
    }
    for name in [n for n in env if n.startswith("PROMPTER_")]:
        del env[name]  # the client must not pick up a test runner's settings
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", tut.script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"{tut.page} failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
    lines = done.stdout.splitlines()
    at = 0
    for line in tut.promised:
        pattern = promised_pattern(line)
        found = next((i for i in range(at, len(lines)) if pattern.fullmatch(lines[i])), None)
        assert found is not None, f"{tut.page} promises {line!r}, not in the output (from line {at}):\n{done.stdout}"
        at = found + 1
    return done.stdout


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_url")


@pytest.fixture(autouse=True)
def tools() -> None:
    for tool, install in (("bash", "bash"), ("curl", "curl"), ("jq", "jq")):
        if shutil.which(tool) is None:
            need(f"{tool} is not installed (Debian: apt-get install {install}; ./scripts/test installs it)")


def serve(db_url: str) -> LiveServer:
    return LiveServer(create_app(Settings(db_url=db_url, db_auto_migrate=True)))


@pytest.mark.parametrize("page", PAGES)
def test_each_tutorial_runs_verbatim_on_a_fresh_server(page: str, db_url: str) -> None:
    tut = tutorial(page)
    assert tut.promised, f"{page} promises no output to check"
    with serve(db_url) as base_url:
        run(tut, base_url)


def test_the_tutorials_run_one_after_another_on_one_server(db_url: str) -> None:
    """Self-contained: their own prompt names and workspaces, ids read from the answers, so none collides with another."""
    with serve(db_url) as base_url:
        for page in PAGES:
            run(tutorial(page), base_url)


def test_a_broken_promise_is_caught() -> None:
    """The checker itself: a line the output does not contain fails, `…` matches anything."""
    tut = Tutorial("inline", 'echo "template 12, version 7"', ["template …, version …"])
    run(tut, "http://127.0.0.1:9")
    with pytest.raises(AssertionError, match="promises"):
        run(Tutorial("inline", "echo 201", ["409"]), "http://127.0.0.1:9")
