"""A real `prompter serve` being stopped, as a balancer and its clients see it (docs/security-operations.md):

- after SIGTERM, /readyz fails at once while requests are still served (each answer `Connection: close`) for
  PROMPTER_SHUTDOWN_DELAY_S, then the process exits 0;
- a run still waiting for its LLM when PROMPTER_SHUTDOWN_DRAIN_S is over answers 503 + Retry-After, not 500, and
  nothing of it was written;
- X-Forwarded-Proto is believed from the peers in PROMPTER_FORWARDED_ALLOW_IPS only (then UI cookies are Secure).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.integration.providers.wire_server import Reply, WireServer, openai_chat
from tests.support import processes
from tests.support.ports import free_port
from tests.support.replicas import Replica

IN_FLIGHT = 6


def _server(tmp_path: Path, **settings: object) -> Replica:
    env = processes.clean_env(
        DB_URL=f"sqlite:///{tmp_path}/prompter.db",
        PROMPTER_DB_AUTO_MIGRATE="true",
        PROMPTER_TELEMETRY="off",
        PROMPTER_LOG_LEVEL="WARNING",
        **settings,
    )
    replica = Replica("stopping", free_port(), env, tmp_path).spawn()
    replica.wait_ready()
    return replica


def test_readiness_fails_first_while_requests_are_still_served(tmp_path: Path) -> None:
    replica = _server(tmp_path, PROMPTER_SHUTDOWN_DELAY_S="3")
    try:
        with httpx.Client(base_url=replica.url, timeout=5) as http:
            assert http.get("/readyz").status_code == 200
            assert replica.process is not None
            replica.process.send_signal(15)
            processes.wait_until(lambda: http.get("/readyz").status_code == 503, "/readyz 503", 5, replica.log)
            served = http.get("/healthz")
            assert served.status_code == 200 and served.headers["connection"] == "close"
            created = http.post(
                "/api/prompt-templates", json={"org_id": "o", "workspace_id": "w", "name": "late", "body": "x"}
            )
            assert created.status_code == 201, created.text
        assert replica.process.wait(timeout=30) == 0
    finally:
        replica.stop()


def test_runs_cut_by_the_drain_answer_503_with_retry_after_and_write_nothing(tmp_path: Path) -> None:
    llm = WireServer().start()
    try:
        llm.script(default=Reply(200, openai_chat("quick")))
        # The drain (1 s) is shorter than the LLM's answer (12 s, longer than the old hard-coded 10 s drain too).
        replica = _server(
            tmp_path,
            OPENAI_API_KEY="sk-stopping",
            OPENAI_BASE_URL=f"{llm.url}/v1",
            PROMPTER_SHUTDOWN_DRAIN_S="1",
        )
        try:
            with httpx.Client(base_url=replica.url, timeout=60) as http:
                body = {"org_id": "o", "workspace_id": "w", "name": "greet", "body": "Hi {{ who }}"}
                template = http.post("/api/prompt-templates", json=body).json()["id"]
                run = {"provider": "openai", "model_id": "gpt-4o", "variables": {"who": "warm-up"}}
                assert http.post(f"/api/prompt-templates/{template}/run", json=run).status_code == 201
                llm.script(default=Reply(200, openai_chat("slow"), delay_s=12))
                before = len(llm.requests)
                with ThreadPoolExecutor(IN_FLIGHT) as pool:
                    futures = [
                        pool.submit(http.post, f"/api/prompt-templates/{template}/run", json=run)
                        for _ in range(IN_FLIGHT)
                    ]
                    processes.wait_until(
                        lambda: len(llm.requests) >= before + IN_FLIGHT, "every run at the LLM", 20, replica.log
                    )
                    assert replica.process is not None
                    stopped = time.monotonic()
                    replica.process.send_signal(15)
                    answers = [future.result() for future in futures]
                took = time.monotonic() - stopped
            assert [a.status_code for a in answers] == [503] * IN_FLIGHT, [a.text for a in answers]
            assert all(a.headers["retry-after"] == "2" and a.json()["error"] == "shutting_down" for a in answers)
            assert took < 10, f"answered after {took:.1f}s: the 1 s drain was not applied"
            assert replica.process.wait(timeout=30) == 0
            assert "Exception in ASGI application" not in replica.log.read_text()
        finally:
            replica.stop()
        assert _result_rows(tmp_path / "prompter.db") == 1  # the warm-up run only
    finally:
        llm.stop()


def _result_rows(path: Path) -> int:
    import sqlite3

    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT count(*) FROM prompt_results").fetchone()[0]


@pytest.mark.parametrize(("peer", "trusted"), [("127.0.0.3", True), ("127.0.0.2", False)])
def test_forwarded_proto_is_believed_from_the_configured_proxy_only(tmp_path: Path, peer: str, trusted: bool) -> None:
    replica = _server(tmp_path, PROMPTER_AUTH="required", PROMPTER_FORWARDED_ALLOW_IPS="127.0.0.3")
    try:
        transport = httpx.HTTPTransport(local_address=peer)
        with httpx.Client(base_url=replica.url, transport=transport, timeout=5) as http:
            form = http.get("/ui/login", headers={"X-Forwarded-Proto": "https"})
        assert form.status_code == 200
        assert ("Secure" in form.headers["set-cookie"]) is trusted, form.headers["set-cookie"]
    finally:
        replica.stop()
