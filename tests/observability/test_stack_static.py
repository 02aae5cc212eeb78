"""compose.yaml, Dockerfile, prometheus/, grafana/provisioning and otel-collector.yaml agree with each other.

No container is started: every host:port one file names must be a compose service that exposes that port, every
mounted file must exist, and the credentials on both ends of /metrics must match.
"""

from __future__ import annotations

import importlib.resources
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ALERTS = {
    "PrompterRedisDown",
    "PrompterHigh5xxRatio",
    "PrompterLatencyObjective",
    "PrompterProbeFailureRatio",
    "PrompterFingerprintRateDrop",
    "PrompterModelDrift",
}
SERVICES = {"api", "postgres", "redis", "otel-collector", "prometheus", "grafana", "jaeger"}


def load_yaml(root: Path, relative: str) -> Any:
    return yaml.safe_load((root / relative).read_text())


def listening_ports(service: dict[str, Any]) -> set[int]:
    """Container ports a compose service declares: `expose` plus the container side of `ports`."""
    ports = {int(str(p).split("/")[0]) for p in service.get("expose", [])}
    for mapping in service.get("ports", []):
        target = mapping["target"] if isinstance(mapping, dict) else str(mapping).rsplit(":", 1)[-1]
        ports.add(int(str(target).split("/")[0]))
    return ports


def host_port(address: str) -> tuple[str, int]:
    """`host:port` or a URL with an explicit port."""
    netloc = urlsplit(address).netloc if "://" in address else address
    host, _, port = netloc.rpartition("@")[2].rpartition(":")
    return host, int(port)


@pytest.fixture(scope="module")
def compose(repo_root: Path) -> dict[str, Any]:
    return load_yaml(repo_root, "compose.yaml")


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def prometheus_config(repo_root: Path) -> dict[str, Any]:
    return load_yaml(repo_root, "prometheus/prometheus.yml")


@pytest.fixture(scope="module")
def collector(repo_root: Path) -> dict[str, Any]:
    return load_yaml(repo_root, "otel-collector.yaml")


def assert_served(services: dict[str, dict[str, Any]], address: str, who: str) -> None:
    host, port = host_port(address)
    assert host in services, f"{who}: {host!r} is not a compose service"
    assert port in listening_ports(services[host]), f"{who}: compose service {host} does not expose {port}"


# --- compose itself -------------------------------------------------------------------------


def test_compose_config_accepted_by_docker_compose(repo_root: Path) -> None:
    if (
        shutil.which("docker")
        and subprocess.run(["docker", "compose", "version"], check=False, capture_output=True).returncode == 0
    ):
        command = ["docker", "compose", "-f", "compose.yaml", "config", "-q"]
    elif shutil.which("docker-compose"):
        command = ["docker-compose", "-f", "compose.yaml", "config", "-q"]
    else:
        pytest.skip("neither `docker compose` nor docker-compose installed (Debian: apt-get install docker-compose)")
    result = subprocess.run(command, cwd=repo_root, check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_matches_the_compose_spec_schema(compose: dict[str, Any]) -> None:
    try:
        import jsonschema

        schema_file = importlib.resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    except ImportError as exc:  # the compose-spec schema ships inside check-jsonschema
        if os.environ.get("CI"):
            pytest.fail(f"test dependency missing: {exc}")
        pytest.skip(f"check-jsonschema not installed: {exc}")
    schema = json.loads(schema_file.read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(compose)]
    assert not errors, "\n".join(errors)


def test_compose_services(services: dict[str, dict[str, Any]]) -> None:
    assert SERVICES <= services.keys()
    images = {name: str(svc.get("image", "")) for name, svc in services.items()}
    assert images["postgres"].startswith("postgres:15")
    assert images["redis"].startswith("redis:7")
    assert images["otel-collector"].startswith("otel/opentelemetry-collector-contrib:")
    assert images["prometheus"].startswith("prom/prometheus:")
    assert images["grafana"].startswith("grafana/grafana:")
    assert images["jaeger"].startswith("jaegertracing/all-in-one:")
    assert "build" in services["api"]
    assert str(services["jaeger"]["environment"]["COLLECTOR_OTLP_ENABLED"]).lower() == "true"
    assert " ".join(services["postgres"]["healthcheck"]["test"]).count("pg_isready") == 1
    assert services["redis"]["healthcheck"]["test"][-2:] == ["redis-cli", "ping"]
    assert "healthz" in " ".join(services["api"]["healthcheck"]["test"])


def test_api_waits_for_healthy_dependencies(services: dict[str, dict[str, Any]]) -> None:
    depends = services["api"]["depends_on"]
    assert depends["postgres"]["condition"] == "service_healthy"
    assert depends["redis"]["condition"] == "service_healthy"
    assert "otel-collector" in depends
    if "migrate" in depends:
        assert depends["migrate"]["condition"] == "service_completed_successfully"
    for name, service in services.items():
        for dependency, spec in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if spec.get("condition") == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} waits for {dependency}, which has no healthcheck"


def test_api_environment(services: dict[str, dict[str, Any]]) -> None:
    env = services["api"]["environment"]
    assert env["METRICS_ENV"] == "prod"
    assert env["PROMPTER_AUTH"] == "required"
    assert env["METRICS_BASIC_AUTH_USER"] and env["METRICS_BASIC_AUTH_PASSWORD"]
    assert urlsplit(env["DB_URL"]).scheme.startswith("postgresql")
    for key in ("DB_URL", "REDIS_URL", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        assert_served(services, env[key], f"api {key}")
    assert host_port(env["OTEL_EXPORTER_OTLP_ENDPOINT"])[1] == 4318, "the app exports OTLP/HTTP"


def test_bind_mounts_exist(services: dict[str, dict[str, Any]], repo_root: Path) -> None:
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume["source"] if isinstance(volume, dict) else str(volume).split(":")[0]
            if source.startswith("."):
                assert (repo_root / source).exists(), f"{name} mounts missing {source}"


def mount_target(service: dict[str, Any], source: str) -> str:
    for volume in service.get("volumes", []):
        parts = str(volume).split(":")
        if parts[0].rstrip("/") == source:
            return parts[1]
    raise AssertionError(f"{source} is not mounted")


def test_config_files_are_mounted_where_they_are_read(services: dict[str, dict[str, Any]], repo_root: Path) -> None:
    assert mount_target(services["prometheus"], "./prometheus") == "/etc/prometheus"
    assert "--config.file=/etc/prometheus/prometheus.yml" in services["prometheus"]["command"]
    collector_target = mount_target(services["otel-collector"], "./otel-collector.yaml")
    assert f"--config={collector_target}" in services["otel-collector"]["command"]
    assert mount_target(services["grafana"], "./grafana/provisioning") == "/etc/grafana/provisioning"
    providers = load_yaml(repo_root, "grafana/provisioning/dashboards/dashboards.yaml")["providers"]
    assert [p["options"]["path"] for p in providers] == [mount_target(services["grafana"], "./grafana/dashboards")]


# --- who talks to whom ----------------------------------------------------------------------


def test_prometheus_scrapes_compose_services(prometheus_config: dict[str, Any], services: dict[str, Any]) -> None:
    jobs = {job["job_name"]: job for job in prometheus_config["scrape_configs"]}
    assert {"prompter", "otel-collector"} <= jobs.keys()
    scraped = set()
    for name, job in jobs.items():
        for static in job.get("static_configs", []):
            scraped |= {(name, t) for t in static["targets"]}
        for dns in job.get("dns_sd_configs", []):
            scraped |= {(name, f"{host}:{dns['port']}") for host in dns["names"]}
    for job, target in scraped:
        assert_served(services, target, f"prometheus job {job}")
    assert ("prompter", "api:8000") in scraped
    assert {("otel-collector", "otel-collector:8889"), ("otel-collector", "otel-collector:8888")} <= scraped
    assert prometheus_config["rule_files"] == ["alerts.yml"]


def test_metrics_credentials_match(
    prometheus_config: dict[str, Any], services: dict[str, Any], repo_root: Path
) -> None:
    job = next(j for j in prometheus_config["scrape_configs"] if j["job_name"] == "prompter")
    auth = job["basic_auth"]
    env = services["api"]["environment"]
    password = auth.get("password")
    if "password_file" in auth:
        password = (repo_root / "prometheus" / auth["password_file"]).read_text().strip()
    assert auth["username"] == env["METRICS_BASIC_AUTH_USER"]
    assert password == env["METRICS_BASIC_AUTH_PASSWORD"]


def test_collector_endpoints_are_compose_services(collector: dict[str, Any], services: dict[str, Any]) -> None:
    own = listening_ports(services["otel-collector"])
    protocols = collector["receivers"]["otlp"]["protocols"]
    assert {host_port(p["endpoint"]) for p in protocols.values()} == {("0.0.0.0", 4317), ("0.0.0.0", 4318)}
    assert {4317, 4318} <= own
    prometheus_exporter = collector["exporters"]["prometheus"]
    assert host_port(prometheus_exporter["endpoint"]) == ("0.0.0.0", 8889) and 8889 in own
    reader = collector["service"]["telemetry"]["metrics"]["readers"][0]["pull"]["exporter"]["prometheus"]
    assert (reader["host"], reader["port"]) == ("0.0.0.0", 8888) and 8888 in own
    for name, exporter in collector["exporters"].items():
        if name.split("/")[0] in {"otlp", "otlphttp"}:
            assert_served(services, exporter["endpoint"], f"collector exporter {name}")


def test_grafana_datasources_are_compose_services(repo_root: Path, services: dict[str, Any]) -> None:
    datasources = {
        d["uid"]: d for d in load_yaml(repo_root, "grafana/provisioning/datasources/datasources.yaml")["datasources"]
    }
    assert datasources["prometheus"]["type"] == "prometheus"
    assert datasources["jaeger"]["type"] == "jaeger"
    assert host_port(datasources["prometheus"]["url"]) == ("prometheus", 9090)
    assert host_port(datasources["jaeger"]["url"]) == ("jaeger", 16686)
    for uid, datasource in datasources.items():
        assert_served(services, datasource["url"], f"grafana datasource {uid}")


# --- the collector's pipelines --------------------------------------------------------------


def test_collector_pipelines(collector: dict[str, Any]) -> None:
    pipelines = collector["service"]["pipelines"]
    assert pipelines["traces"]["exporters"] == ["otlp/jaeger"]
    assert collector["exporters"]["otlp/jaeger"]["tls"]["insecure"] is True
    assert pipelines["metrics"]["exporters"] == ["prometheus"]
    assert collector["exporters"]["prometheus"]["resource_to_telemetry_conversion"]["enabled"] is True
    # without it prompter_redis_up (gauge, unit "1") would reach Prometheus as prompter_redis_up_ratio
    unit_fix = [p for p in pipelines["metrics"]["processors"] if p.split("/")[0] == "transform"]
    assert unit_fix, "metrics pipeline lacks the transform that drops unit 1 from gauges"
    statements = [s for c in collector["processors"][unit_fix[0]]["metric_statements"] for s in c["statements"]]
    assert any('set(unit, "")' in s and "METRIC_DATA_TYPE_GAUGE" in s for s in statements)
    for name, pipeline in pipelines.items():
        assert pipeline["processors"][0] == "memory_limiter", name
        assert pipeline["processors"][-1] == "batch", name
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline[kind]:
                assert component in collector[kind], f"{name}: {kind} {component} is not defined"
    assert "debug" in collector["exporters"]
    assert all("debug" not in p["exporters"] for p in pipelines.values()), "debug exporter is opt-in"


def test_collector_sends_spans_naming_a_prompt_to_prompter(collector: dict[str, Any], services: dict[str, Any]) -> None:
    """traces/prompter: only spans with prompter.prompt.* (the filter drops the rest), over OTLP/HTTP to the api's
    /v1/traces (otlphttp appends the path), with the ingest key the compose file hands the collector."""
    from telemetry.prompt_attributes import PROMPT_NAME, PROMPT_VERSION_ID

    pipeline = collector["service"]["pipelines"]["traces/prompter"]
    assert pipeline["receivers"] == ["otlp"] and pipeline["exporters"] == ["otlphttp/prompter"]
    filters = [p for p in pipeline["processors"] if p.startswith("filter/")]
    (condition,) = collector["processors"][filters[0]]["traces"]["span"]
    assert (
        f'attributes["{PROMPT_NAME}"] == nil' in condition and f'attributes["{PROMPT_VERSION_ID}"] == nil' in condition
    )
    exporter = collector["exporters"]["otlphttp/prompter"]
    assert host_port(exporter["endpoint"]) == ("api", 8000)
    assert exporter["headers"]["Authorization"] == "Bearer ${env:PROMPTER_INGEST_KEY}"
    assert "PROMPTER_INGEST_KEY" in services["otel-collector"]["environment"]


# --- alerts ---------------------------------------------------------------------------------


def test_alert_rules(repo_root: Path) -> None:
    rules = [r for g in load_yaml(repo_root, "prometheus/alerts.yml")["groups"] for r in g["rules"] if "alert" in r]
    assert {r["alert"] for r in rules} == ALERTS
    for rule in rules:
        name = rule["alert"]
        assert re.search(r"\b(sum|min|max) by \(", rule["expr"]), name
        assert rule.get("for"), name
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, name
        assert rule["annotations"].get("summary") and rule["annotations"].get("description"), name


def test_alert_unit_tests_cover_each_alert_both_ways(repo_root: Path) -> None:
    cases = [
        c for t in load_yaml(repo_root, "prometheus/alerts_test.yml")["tests"] for c in t.get("alert_rule_test", [])
    ]
    firing = {c["alertname"] for c in cases if c.get("exp_alerts")}
    quiet = {c["alertname"] for c in cases if not c.get("exp_alerts")}
    assert ALERTS <= firing, f"no firing case for {sorted(ALERTS - firing)}"
    assert ALERTS <= quiet, f"no quiet case for {sorted(ALERTS - quiet)}"


# --- the API image --------------------------------------------------------------------------


def test_dockerfile(repo_root: Path) -> None:
    lines = [line.strip() for line in (repo_root / "Dockerfile").read_text().splitlines()]
    instructions = [line for line in lines if line and not line.startswith("#")]
    assert instructions[0] == "FROM python:3.11-slim"
    assert any(re.fullmatch(r"RUN pip install .*(\.|/app)", line) for line in instructions)
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}
    cmd = [line for line in instructions if line.startswith("CMD ")]
    assert cmd and json.loads(cmd[-1][4:]) == ["prompter", "serve", "--host", "0.0.0.0", "--port", "8000"]
    assert not any(line.startswith("ENTRYPOINT") for line in instructions), "CMD must stay the one process"


def test_dockerignore_keeps_local_state_out(repo_root: Path) -> None:
    ignored = set((repo_root / ".dockerignore").read_text().split())
    assert {".git", ".venv"} <= ignored
    assert "README.md" not in ignored and "pyproject.toml" not in ignored, "pip install . needs them"
