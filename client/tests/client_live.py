"""Helpers for the client's live tests: a real `prompter serve` (in-thread uvicorn, or a subprocess that can be stopped
and started again on the same port and database), seeding prompts over HTTP, and the server's own request counts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.reliability.live import scrape
from tests.support.ports import free_port

REPO = Path(__file__).resolve().parents[2]
TENANT = {"org_id": "acme", "workspace_id": "support"}
RESOLVE_ROUTE = "/api/prompts/{name}"


def resolve_requests(base_url: str, status: str | None = None) -> int:
    """GET /api/prompts/{name} requests the server has answered (with that status), from its /metrics."""
    labels = {"route": RESOLVE_ROUTE, "method": "GET"} | ({"status": status} if status else {})
    return int(scrape(base_url, "starlette_requests_total", **labels))


def seed(
    base_url: str, name: str, bodies: list[str], label: str | None = "production", api_key: str | None = None
) -> list[int]:
    """One revision per body, each pinned to a version (fake LLM); `label` points at the first. Version ids back."""
    versions = []
    headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
    with httpx.Client(base_url=base_url, timeout=30, headers=headers) as http:
        for body in bodies:
            template = http.post("/api/prompt-templates", json={**TENANT, "name": name, "body": body})
            assert template.status_code == 201, template.text
            version = http.post(
                f"/api/prompt-templates/{template.json()['id']}/ensure-version",
                json={"provider": "openai", "model_id": "gpt-4o"},
            )
            assert version.status_code in (200, 201), version.text
            versions.append(version.json()["id"])
        if label is not None:
            moved = http.put(f"/api/prompts/{name}/labels/{label}", json={**TENANT, "version_id": versions[0]})
            assert moved.status_code == 200, moved.text
    return versions


def make_key(db_url: str, role: str, org_id: str = TENANT["org_id"], workspace_id: str = TENANT["workspace_id"]) -> str:
    """An API key straight into the database (what `prompter keys create` does)."""
    from tests.support.keys import make_key as create

    return create(db_url, org_id, workspace_id, role)


def revoke_key(db_url: str, token: str) -> None:
    from tests.support.keys import revoke

    revoke(db_url, token)


class ServerProcess:
    """`python -m service.cli serve` on a fixed port and SQLite file: stop() and start() again keep both."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "server.log"
        scrubbed = ("PROMPTER_", "OTEL_", "METRICS_")
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(scrubbed) and k not in ("DB_URL", "REDIS_URL")
        }
        self.env |= {"DB_URL": f"sqlite:///{workdir}/prompter.db", "PROMPTER_LOG_LEVEL": "WARNING"}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 30) -> ServerProcess:
        command = [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"prompter serve exited ({self.process.returncode}): {self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"prompter serve not ready within {timeout_s}s: {self.log_tail()}")
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM to our own child's pid (graceful), SIGKILL if it does not exit in time."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""


def client_options(base_url: str, **options: Any) -> dict[str, Any]:
    return {"base_url": base_url, **TENANT, **options}
