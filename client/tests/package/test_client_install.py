"""`pip install ./client` in a fresh venv: it installs with only httpx and msgspec, and imports without the server."""

from __future__ import annotations

import subprocess
import venv
from pathlib import Path

import pytest

CLIENT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_pip_install_client_into_a_fresh_venv(tmp_path: Path) -> None:
    venv.create(tmp_path / "venv", with_pip=True)
    python = str(tmp_path / "venv" / "bin" / "python")
    install = subprocess.run(
        [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", str(CLIENT)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    listed = subprocess.run(
        [python, "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    installed = {line.split("==")[0].lower() for line in listed.splitlines()}
    # httpx's own dependencies come along; nothing of the server (litestar, sqlalchemy, opentelemetry) does.
    assert {"prompter-client", "httpx", "msgspec"} <= installed
    assert not installed & {"litestar", "sqlalchemy", "opentelemetry-api", "uvicorn"}
    check = (
        "import sys, prompter_client as pc; p = pc.Prompter('http://127.0.0.1:9', org_id='a', workspace_id='b');"
        "print(p.get_prompt('greet', fallback='Hi {{ who }}').render(who='Ada')); p.close();"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('service', 'opentelemetry')))"
    )
    run = subprocess.run([python, "-c", check], capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["Hi Ada", "[]"]
