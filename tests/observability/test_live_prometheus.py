"""The rollout dashboard and the alert rules against a real Prometheus scraping a real `prompter serve`.

One test, because the expensive part is shared: a throwaway redis-server, the `prompter serve` console script as a
subprocess (SQLite, Redis probe cache, /metrics behind basic auth as in compose.yaml, `anthropic` pointed at a local
server that always answers 429), and Debian's `prometheus` binary scraping it every second with prometheus/alerts.yml
loaded.

Traffic runs in two rounds with a scrape between them, so every counter has two samples and rate() is positive:
creates and duplicates, ensure-version cache misses and hits, a drift per round (the app is restarted once, on the same
port, with PROMPTER_FAKE_IDENTITY changing the fake OpenAI fingerprint), a failing probe (429 provider_rate_limited),
other 4xx errors, runs and observations reported through a label. No request answers 5xx, so the error-ratio panel must show 0 rather than nothing. Then every panel query is evaluated with service/dashboard_check.py - the code behind `prompter
check-dashboard`, which is also run as a command - and every alert rule must have evaluated without error.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from service.cli.dashboard_check import (
    PrometheusClient,
    check_dashboard,
    format_report,
    load_dashboard,
    panel_exprs,
    substitute_template_vars,
)
from service.settings import Settings
from tests.conftest import need
from tests.support.ports import free_port
from tests.support.processes import tail, wait_until
from tests.support.redis_server import RedisServer
from tests.support.webhook_receiver import WebhookReceiver

METRICS_USER, METRICS_PASSWORD = "prometheus", "live-test-metrics"
METRICS_ENV = "live-test"
ROTATED_FINGERPRINT = "fp_rotated_live"


def _prompter_command() -> list[str]:
    script = Path(sys.executable).with_name("prompter")
    if script.exists():
        return [str(script)]
    found = shutil.which("prompter")
    assert found, "the `prompter` console script is not installed (pip install -e .)"
    return [found]


class PrompterServe:
    """`prompter serve` as production runs it: its own process, configured by environment variables only."""

    def __init__(self, port: int, log: Path) -> None:
        self.port, self.log = port, log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, settings_env: dict[str, str]) -> None:
        # Nothing of the developer's own configuration (keys, DB_URL, OTLP endpoint...) may leak into the app.
        ours = {env for env, _, _ in Settings.documented_fields()}
        env = {k: v for k, v in os.environ.items() if k not in ours and not k.startswith(("OTEL_", "PROMPTER_"))}
        env.update(settings_env)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [*_prompter_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

        def healthy() -> bool:
            assert self.process is not None and self.process.poll() is None, f"prompter serve exited\n{tail(self.log)}"
            try:
                return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, "prompter serve /healthz", 30, self.log)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None


@dataclass
class LivePrometheus:
    url: str
    log: Path
    client: PrometheusClient

    def value(self, promql: str) -> float | None:
        result = self.client.query(promql)
        if isinstance(result, float):
            return result
        return float(result[0]["value"][1]) if result else None

    def wait_for_scrape_after(self, moment: float) -> None:
        """Until a successful scrape of the app started after `moment` (so it saw everything done before)."""

        def scraped() -> bool:
            started = self.value('timestamp(up{job="prompter"})')
            return started is not None and started > moment and self.value('up{job="prompter"}') == 1

        wait_until(scraped, "a successful scrape of prompter serve", 30, self.log)

    def rules(self) -> list[dict[str, Any]]:
        body = httpx.get(f"{self.url}/api/v1/rules", timeout=5).json()
        assert body["status"] == "success", body
        return body["data"]["groups"]


def _panel_expr(dashboard: dict[str, Any], title: str) -> str:
    (expr,) = [expr for panel, expr in panel_exprs(dashboard) if panel == title]
    return substitute_template_vars(expr)


def _rfc3339(text: str) -> float:
    # Prometheus writes nanoseconds; Python 3.11 parses at most microseconds.
    return datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", text.replace("Z", "+00:00"))).timestamp()


@pytest.fixture
def prometheus_binary() -> str:
    path = shutil.which("prometheus")
    if path is None:
        need("prometheus not found on PATH (Debian: apt-get install prometheus; ./scripts/test installs it)")
    return str(path)


@pytest.fixture
def redis_for_app() -> Iterator[RedisServer]:
    try:
        server = RedisServer().start()
    except Exception as exc:  # noqa: BLE001 - any failure means "no Redis here"
        need(f"redis-server could not start: {exc}")
    try:
        yield server
    finally:
        server.stop()


class _RateLimited(BaseHTTPRequestHandler):
    """A provider that rate-limits every call: a probe failure that Prompter answers with a 4xx (429), not a 5xx."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = b'{"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}'
        self.send_response(429)
        self.send_header("retry-after", "0")
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # no access log on stderr
        return


@pytest.fixture
def rate_limited_provider() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RateLimited)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def app(tmp_path: Path) -> Iterator[PrompterServe]:
    serve = PrompterServe(free_port(), tmp_path / "prompter.log")
    try:
        yield serve
    finally:
        serve.stop()


@pytest.fixture
def prometheus(prometheus_binary: str, app: PrompterServe, repo_root: Path, tmp_path: Path) -> Iterator[LivePrometheus]:
    """Prometheus scraping `app` every second as compose's does (basic auth from a password file), alerts loaded."""
    (tmp_path / "metrics_password").write_text(METRICS_PASSWORD)
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(repo_root / "prometheus/alerts.yml")],
        "scrape_configs": [
            {
                "job_name": "prompter",
                "metrics_path": "/metrics",
                "basic_auth": {"username": METRICS_USER, "password_file": str(tmp_path / "metrics_password")},
                "static_configs": [{"targets": [f"127.0.0.1:{app.port}"]}],
            }
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    port, log = free_port(), tmp_path / "prometheus.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                prometheus_binary,
                f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        assert process.poll() is None, f"prometheus exited\n{tail(log)}"
        try:
            return httpx.get(f"{url}/-/ready", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    client = PrometheusClient(url)
    try:
        wait_until(ready, "prometheus /-/ready", 30, log)
        yield LivePrometheus(url, log, client)
    finally:
        client.close()
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


# --- traffic ---------------------------------------------------------------------------------


def _call(http: httpx.Client, method: str, path: str, expected: int, body: Any = None) -> dict[str, Any]:
    response = http.request(method, path, json=body)
    assert response.status_code == expected, f"{method} {path} -> {response.status_code} {response.text}"
    return response.json()


def _template(http: httpx.Client, name: str) -> int:
    body = {"org_id": "acme", "workspace_id": "support", "name": name, "body": "Hello {{ name }}!"}
    return _call(http, "POST", "/api/prompt-templates", 201, body)["id"]


def _ensure(
    http: httpx.Client, template_id: int, provider: str, model_id: str, expected: int = 201, refresh: bool = False
) -> dict[str, Any]:
    body = {"provider": provider, "model_id": model_id, "refresh": refresh}
    return _call(http, "POST", f"/api/prompt-templates/{template_id}/ensure-version", expected, body)


def _run(http: httpx.Client, template_id: int, provider: str, model_id: str) -> dict[str, Any]:
    body = {"provider": provider, "model_id": model_id, "variables": {"name": "Ada"}}
    return _call(http, "POST", f"/api/prompt-templates/{template_id}/run", 201, body)


def _round(http: httpx.Client, n: int, first: int, second: int, drifting: int) -> None:
    """One round of traffic touching every panel; `drifting` is the template whose OpenAI pin drifts now."""
    # duplicates blocked
    body = {"org_id": "acme", "workspace_id": "support", "name": f"round-{n}", "body": "Round {{ name }}"}
    _call(http, "POST", "/api/prompt-templates", 201, body)
    assert _call(http, "POST", "/api/prompt-templates", 409, body)["error"] == "duplicate_template"
    # probe cache: a model probed for the first time (miss), then the same model for another template (hit)
    pinned = _ensure(http, first, "google", f"gemini-round-{n}")
    _ensure(http, second, "google", f"gemini-round-{n}")
    # model drift: the fake OpenAI now reports another fingerprint than the one this template was pinned to
    assert _ensure(http, drifting, "openai", "gpt-4o", refresh=True)["drift"] is True
    # a failing probe: the anthropic "provider" answers 429 to everything
    assert _ensure(http, first, "anthropic", "claude-live", expected=429)["error"] == "provider_rate_limited"
    # other 4xx errors
    _call(http, "GET", "/api/prompt-templates/999999", 404)
    assert _ensure(http, first, "mistral", "any", expected=422)["error"] == "unknown_provider"
    # label moves: staging follows this round's pin; from the second round on it is also rolled back
    tenant = {"org_id": "acme", "workspace_id": "support"}
    _call(http, "PUT", "/api/prompts/greet/labels/staging", 200, {**tenant, "version_id": pinned["id"]})
    if n > 1:
        _call(http, "POST", "/api/prompts/greet/labels/staging/rollback", 200, tenant)
    # production traffic reported by the application itself, not a run through the label: alone it fills the
    # "Production traffic by label" row (calls, an error, latency, ingest fates)
    observed = [
        {
            "id": f"observed-{n}-{i}",
            "prompt": "greet",
            "label": "staging",
            "provider": "google",
            "reported": {"modelVersion": f"gemini-observed-{n}"},
            "latency_ms": 100.0 + i,
            **({"error": "DeadlineExceeded"} if i == 0 else {}),
        }
        for i in range(5)
    ]
    assert _call(http, "POST", "/api/observations", 200, {**tenant, "items": observed})["accepted"] == 5
    _canary(http, n, first, pinned["id"])
    # runs: results with an OpenAI fingerprint and without one, GenAI latency and tokens
    assert _run(http, first, "openai", "gpt-4o")["system_fingerprint"] == ROTATED_FINGERPRINT
    assert _run(http, first, "google", f"gemini-round-{n}")["system_fingerprint"] is None


def _canary(http: httpx.Client, n: int, template_id: int, baseline: int) -> None:
    """A 90/10 split with a rollout policy; the application reports calls of both arms (the baseline's with one
    identity drift, the canary's with an error), and the rollout worker aborts it at its next analysis."""
    tenant = {"org_id": "acme", "workspace_id": "support"}
    canary = _ensure(http, template_id, "google", f"gemini-canary-{n}")["id"]
    label = f"canary-{n}"
    body = {
        **tenant,
        "split": [{"version_id": baseline, "weight": 90}, {"version_id": canary, "weight": 10}],
        "policy": {"steps": [10, 100], "min_calls": 1, "min_seconds": 0, "interval_s": 0.5},
    }
    _call(http, "PUT", f"/api/prompts/greet/labels/{label}", 200, body)
    calls: list[tuple[int, dict[str, Any]]] = [(baseline, {"latency_ms": 80.0 + i}) for i in range(3)]
    calls += [(baseline, {"reported": {"modelVersion": f"gemini-drifted-{n}"}, "latency_ms": 90.0})]
    calls += [(canary, {"latency_ms": 120.0}), (canary, {"error": "DeadlineExceeded"})]
    items = [
        {
            "id": f"split-{n}-{i}",
            "prompt": "greet",
            "label": label,
            "version_id": version,
            "provider": "google",
            **extra,
        }
        for i, (version, extra) in enumerate(calls)
    ]
    assert _call(http, "POST", "/api/observations", 200, {**tenant, "items": items})["accepted"] == len(items)

    def aborted() -> bool:
        state = _call(http, "GET", f"/api/prompts/greet/labels/{label}/rollout?org_id=acme&workspace_id=support", 200)
        return state["status"] == "aborted"

    wait_until(aborted, f"the rollout worker to abort {label}", 30)


# --- the test --------------------------------------------------------------------------------


def test_every_panel_and_alert_rule_on_a_live_prometheus(
    app: PrompterServe,
    prometheus: LivePrometheus,
    redis_for_app: RedisServer,
    rate_limited_provider: str,
    repo_root: Path,
    tmp_path: Path,
) -> None:
    env = {
        "DB_URL": f"sqlite:///{tmp_path / 'prompter.db'}",
        "REDIS_URL": redis_for_app.url,
        "METRICS_SERVICE": "prompter-api",
        "METRICS_ENV": METRICS_ENV,
        "METRICS_BASIC_AUTH_USER": METRICS_USER,
        "METRICS_BASIC_AUTH_PASSWORD": METRICS_PASSWORD,
        "ANTHROPIC_API_KEY": "sk-ant-placeholder",
        "ANTHROPIC_BASE_URL": rate_limited_provider,
        "PROMPTER_PROVIDER_MAX_RETRIES": "0",
        "PROMPTER_PROVIDER_TIMEOUT_S": "5",
        "PROMPTER_LOG_LEVEL": "WARNING",
        "PROMPTER_ROLLOUT_MIN_INTERVAL_S": "0.5",
        "PROMPTER_ROLLOUT_TICK_S": "0.1",
        # The label moves and versions of the rounds are delivered to a real receiver (the Webhooks row).
        "PROMPTER_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "PROMPTER_WEBHOOK_POLL_S": "0.2",
    }
    receiver = WebhookReceiver().start()

    # Before: two templates pinned to OpenAI gpt-4o with the fake's stub fingerprint.
    app.start(env)
    with httpx.Client(base_url=app.url, timeout=30) as http:
        first, second = _template(http, "greet"), _template(http, "farewell")
        for template_id in (first, second):
            assert _ensure(http, template_id, "openai", "gpt-4o")["captured"]["system_fingerprint"].startswith(
                "fp_stub_"
            )
    # The provider rotates its fingerprint: restart on the same port, so Prometheus keeps one target.
    app.stop()
    app.start({**env, "PROMPTER_FAKE_IDENTITY": f"openai={ROTATED_FINGERPRINT}"})
    assert httpx.get(f"{app.url}/metrics", timeout=5).status_code == 401, "/metrics must require basic auth"

    with httpx.Client(base_url=app.url, timeout=30) as http:
        _call(http, "POST", "/api/webhooks", 201, {"org_id": "acme", "workspace_id": "support", "url": receiver.url})
        _round(http, 1, first, second, drifting=first)
        prometheus.wait_for_scrape_after(time.time())
        _round(http, 2, first, second, drifting=second)
        wait_until(lambda: len(receiver.events()) >= 10, "webhook deliveries of both rounds", 30)
        receiver.stop()
        traffic_done = time.time()
        prometheus.wait_for_scrape_after(traffic_done)

    # Every panel query returns series, and at least one with a number (not only NaN).
    dashboard = load_dashboard(repo_root / "grafana/dashboards/prompter-rollout.json")
    panels = check_dashboard(prometheus.client, dashboard)
    report = "\n".join(format_report(panels))
    assert panels, "the dashboard has no panel queries"
    empty = [p.title for p in panels if not p.has_data]
    assert not empty, f"panels without series: {empty}\n{report}"
    nan_only = [f"{p.title} [{q.query.ref_id}]" for p in panels for q in p.queries if q.finite == 0]
    assert not nan_only, f"queries whose every value is NaN: {nan_only}\n{report}"

    # The traffic is what the panels show. No 5xx at all, and the error ratio is 0, not "no data".
    assert prometheus.client.query('starlette_requests_total{status=~"5.."}') == []
    assert prometheus.value(_panel_expr(dashboard, "Error ratio (5xx / all)")) == 0
    drift = prometheus.value(
        'sum by (provider, model_id) (increase(prompter_model_drift_total{provider="openai", model_id="gpt-4o"}[1m]))'
    )
    assert drift is not None and drift > 0
    failure_ratio = {
        s["metric"]["provider"]: float(s["value"][1])
        for s in prometheus.client.query(
            "sum by (provider) (rate(prompter_probe_failure_total[1m])) or sum by (provider) "
            "(rate(prompter_probe_attempt_total[1m])) * 0"
        )
    }
    assert failure_ratio.get("anthropic", 0) > 0 and failure_ratio.get("google") == 0, failure_ratio
    assert prometheus.value(f'min by (env) (prompter_redis_up{{env="{METRICS_ENV}"}})') == 1
    # No run went through a label: the production-traffic row is observations only.
    observed_calls = prometheus.value('sum by (label) (increase(prompter_label_calls_total{label="staging"}[1m]))')
    assert observed_calls is not None and observed_calls > 0
    error_ratio = prometheus.value(
        'sum by (label) (increase(prompter_label_calls_total{label="staging", outcome="error"}[5m])) / '
        'sum by (label) (increase(prompter_label_calls_total{label="staging"}[5m]))'
    )
    assert error_ratio is not None and abs(error_ratio - 0.2) < 0.01, error_ratio  # 1 failed call in 5 per round
    # The split arms: the canary (variant 1) failed one call in two, the baseline none; each round's rollout aborted.
    arm_errors = {
        s["metric"]["variant"]: float(s["value"][1])
        for s in prometheus.client.query(
            'sum by (variant) (increase(prompter_split_calls_total{outcome="error"}[5m])) / '
            "sum by (variant) (increase(prompter_split_calls_total[5m]))"
        )
    }
    assert arm_errors == {"0": 0.0, "1": 0.5}, arm_errors
    aborts = prometheus.value('sum by (action) (increase(prompter_rollout_decisions_total{action="abort"}[5m]))')
    assert aborts is not None and aborts > 0
    assert prometheus.value("max by (service) (prompter_rollout_canary_weight)") == 0

    # Every alert rule of prometheus/alerts.yml loaded, and evaluated over this data without error.
    alerts = yaml.safe_load((repo_root / "prometheus/alerts.yml").read_text())
    expected = {rule["alert"] for group in alerts["groups"] for rule in group["rules"]}

    def evaluated_after_traffic() -> list[dict[str, Any]] | None:
        groups = prometheus.rules()
        done = groups and all(_rfc3339(g["lastEvaluation"]) > traffic_done for g in groups)
        return [rule for group in groups for rule in group["rules"]] if done else None

    rules = wait_until(evaluated_after_traffic, "an evaluation of every rule group after the traffic", 30)
    assert {rule["name"] for rule in rules} == expected
    broken = {
        rule["name"]: (rule["health"], rule.get("lastError"))
        for rule in rules
        if rule["health"] != "ok" or rule.get("lastError")
    }
    assert not broken, broken

    # `prompter check-dashboard`: the same check as a user runs it (dashboard found from the checkout, not the cwd).
    result = subprocess.run(
        [*_prompter_command(), "check-dashboard", "--prometheus", prometheus.url],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "Prompter Rollout" in lines[0] and "service=.* env=.* instance=.*" in lines[0], lines[0]
    for panel in panels:
        assert any(line.startswith("ok") and panel.title in line for line in lines), (panel.title, result.stdout)
    assert "NO DATA" not in result.stdout
    assert lines[-1] == f"All {len(panels)} panels have data."

    # Filtered to a service that does not exist, every panel is empty and the command says so.
    result = subprocess.run(
        [
            *_prompter_command(),
            "check-dashboard",
            "--prometheus",
            prometheus.url,
            "--var",
            "service=no-such-service",
            "--dashboard",
            str(repo_root / "grafana/dashboards/prompter-rollout.json"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert sum(line.startswith("NO DATA") for line in result.stdout.splitlines()) == len(panels), result.stdout
    assert "the metrics exist, but nothing matches the filters in this window" in result.stdout
    assert result.stdout.splitlines()[-1] == f"{len(panels)} of {len(panels)} panels have no data."
