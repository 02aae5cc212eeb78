"""Issue 3's "done when", literally: a `prompter serve` process configured only by environment variables, the README's
curl walk-through against it, then `/metrics | grep -E 'prompter_|starlette_'` shows every dashboard name with the
right labels and counts, and the run's trace reaches an OTLP receiver with DB and LLM child spans."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.otlp_receiver import OTLPReceiver
from tests.support.ports import free_port
from tests.telemetry.scrape import parse
from tests.telemetry.test_exposition import DASHBOARD_FAMILIES

TEMPLATE = {"org_id": "acme", "workspace_id": "support", "name": "greet", "body": "Hello {{ name }} from {{ team }}!"}
COMMON = {"service": "prompter-walkthrough", "env": "staging"}


def prompter_command() -> list[str]:
    script = Path(sys.executable).with_name("prompter")
    found = str(script) if script.exists() else shutil.which("prompter")
    assert found, "the `prompter` console script is not installed (pip install -e .)"
    return [found]


def wait_healthy(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, f"prompter serve exited:\n{log.read_text(errors='replace')[-3000:]}"
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"prompter serve did not become healthy:\n{log.read_text(errors='replace')[-3000:]}")


def test_readme_walkthrough_against_prompter_serve(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with OTLPReceiver() as receiver:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "PROMPTER_", "METRICS_", "REDIS_"))},
            "DB_URL": f"sqlite:///{tmp_path}/prompter.db",
            "METRICS_SERVICE": COMMON["service"],
            "METRICS_ENV": COMMON["env"],
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        }
        with log.open("wb") as out:
            process = subprocess.Popen(
                [*prompter_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=tmp_path,
            )
        try:
            wait_healthy(base, process, log)
            with httpx.Client(base_url=base, timeout=10) as http:
                # The README's five curl steps.
                assert http.post("/api/prompt-templates", json=TEMPLATE).status_code == 201
                assert http.post("/api/prompt-templates", json=TEMPLATE).status_code == 409
                assert (
                    http.post(
                        "/api/prompt-templates/1/ensure-version", json={"provider": "openai", "model_id": "gpt-4o"}
                    ).status_code
                    == 201
                )
                run = http.post(
                    "/api/prompt-templates/1/run",
                    json={"provider": "openai", "model_id": "gpt-4o", "variables": {"name": "Ada", "team": "Prompter"}},
                )
                assert run.status_code == 201, run.text
                assert http.get("/api/prompt-results/1").status_code == 200
                metrics = http.get("/metrics").text
        finally:
            process.send_signal(signal.SIGTERM)  # graceful: the lifespan flushes the batch span processor
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        spans = receiver.spans()

    grepped = "\n".join(
        line for line in metrics.splitlines() if line.startswith(("prompter_", "starlette_", "# HELP", "# TYPE"))
    )
    scrape = parse(grepped)
    for name, kind in DASHBOARD_FAMILIES.items():
        family = name.removesuffix("_total") if kind == "counter" else name
        assert family in scrape.families, f"{name} missing after the walk-through"
    for labels in (s.labels for s in scrape.samples):
        assert labels["service"] == COMMON["service"] and labels["env"] == COMMON["env"]
    assert scrape.value("prompter_db_unique_violation_total", table="prompt_templates", **COMMON) == 1
    assert scrape.value("prompter_prompt_results_insert_total", **COMMON) == 1
    assert scrape.value("prompter_openai_fingerprint_present_total", **COMMON) == 1
    assert scrape.value("prompter_ensure_version_seconds_count", provider="openai", **COMMON) == 2
    # Only the explicit ensure-version probes; the run's own completion told the identity.
    assert scrape.value("prompter_probe_attempt_total", provider="openai", model_id="gpt-4o", **COMMON) == 1
    assert scrape.value("prompter_probe_failure_total", provider="openai", model_id="gpt-4o", **COMMON) == 0
    assert scrape.value("prompter_model_drift_total", provider="openai", model_id="gpt-4o", **COMMON) == 0
    assert scrape.value("prompter_redis_up", **COMMON) == 0
    assert scrape.value("prompter_cache_hit_total", **COMMON) == 0
    assert scrape.value("prompter_cache_miss_total", **COMMON) == 0
    assert (
        scrape.value(
            "starlette_requests_total",
            method="POST",
            route="/api/prompt-templates/{template_id}/run",
            status="201",
            **COMMON,
        )
        == 1
    )
    assert (
        scrape.value(
            "starlette_requests_total", method="GET", route="/api/prompt-results/{result_id}", status="200", **COMMON
        )
        == 1
    )

    # uvicorn re-raises SIGTERM once its graceful shutdown (our lifespan's flush included) has completed.
    assert process.returncode in {0, -signal.SIGTERM}, log.read_text(errors="replace")[-3000:]
    assert "Application shutdown complete" in log.read_text(errors="replace")
    trace_id = run.json()["trace_id"]
    trace = [s for s in spans if s.trace_id == trace_id]
    assert trace, f"the run's trace never reached the OTLP receiver (got {len(spans)} spans of other traces)"
    names = [s.name for s in trace]
    assert "POST /api/prompt-templates/{template_id}/run" in names
    # One provider call per run: its own chat span, the version step, no probe.
    assert names.count("chat gpt-4o") == 1 and "prompter.ensure_version" in names and "prompter.probe" not in names
    assert any(s.scope == "opentelemetry.instrumentation.sqlalchemy" for s in trace)
    assert trace[0].resource["service.name"] == COMMON["service"]
