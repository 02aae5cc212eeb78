"""deploy/kubernetes: every rendered resource against the Kubernetes schemas, and the build's wiring checked.

The builds are the real kustomize (tests/deploy/conftest.py). Schemas come from kubernetes-validate (strict: an unknown
field is an error) for the oldest Kubernetes we support and the newest it knows. The Prometheus Operator's kinds have
no schema there; their references (selector, port, basic-auth secret keys) are checked below like everything else.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from service.settings import Settings
from telemetry import contract
from tests.deploy.conftest import KUBERNETES_DIR, REPO_ROOT, Resource

OLDEST_SUPPORTED = "1.29.0"  # matchLabelKeys in topology spread constraints is beta (on by default) since 1.27
OPERATOR_KINDS = {"ServiceMonitor", "PodMonitor"}
SECRET_TEMPLATE = KUBERNETES_DIR / "base" / "secret-template.yaml"
CLUSTER_SCOPED = {"Namespace"}

Build = Callable[[Path], list[Resource]]


def _variant_dir(tmp_path: Path) -> Path:
    """production + components/hpa-request-rate, as the component's comment tells an overlay to include it."""
    overlay = tmp_path / "request-rate"
    overlay.mkdir()
    rel = lambda p: os.path.relpath(p, overlay)  # noqa: E731 - kustomize refuses absolute paths
    (overlay / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [rel(KUBERNETES_DIR / "overlays" / "production")],
                "components": [rel(KUBERNETES_DIR / "components" / "hpa-request-rate")],
            }
        )
    )
    return overlay


@pytest.fixture(scope="module")
def production(kustomize_build: Build) -> list[Resource]:
    return kustomize_build(KUBERNETES_DIR / "overlays" / "production")


def settings_env() -> dict[str, str]:
    lines = (KUBERNETES_DIR / "base" / "settings.env").read_text().splitlines()
    pairs = (line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))
    return {name: value for name, value in pairs}


def one(resources: list[Resource], kind: str, name: str) -> Resource:
    found = [r for r in resources if r["kind"] == kind and r["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def configmap(resources: list[Resource], base_name: str) -> Resource:
    """A generated ConfigMap by its name before kustomize appended the content hash."""
    found = [
        r
        for r in resources
        if r["kind"] == "ConfigMap" and re.fullmatch(rf"{base_name}-[a-z0-9]{{10}}", r["metadata"]["name"])
    ]
    assert len(found) == 1, f"ConfigMap {base_name}-<hash>: found {len(found)}"
    return found[0]


def secret_template() -> Resource:
    return yaml.safe_load(SECRET_TEMPLATE.read_text())


def documented_settings() -> set[str]:
    """Variable names of the configuration reference's table (itself kept equal to service/settings/ by a test)."""
    page = (REPO_ROOT / "docs" / "reference" / "configuration.md").read_text()
    table = page.split("<!-- config-table:start -->")[1].split("<!-- config-table:end -->")[0]
    return set(re.findall(r"^\| `([A-Z0-9_]+)` \|", table, flags=re.M))


def pod_spec(resource: Resource) -> dict[str, Any]:
    return resource["spec"]["template"]["spec"]


# --- schemas ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [OLDEST_SUPPORTED, kubernetes_validate.latest_version()])
def test_every_manifest_matches_the_kubernetes_schema(kustomize_build: Build, tmp_path: Path, version: str) -> None:
    builds = {
        "base": kustomize_build(KUBERNETES_DIR / "base"),
        "production": kustomize_build(KUBERNETES_DIR / "overlays" / "production"),
        "production+hpa-request-rate": kustomize_build(_variant_dir(tmp_path)),
        "secret-template": [secret_template()],
    }
    checked = 0
    for build, resources in builds.items():
        assert resources, f"{build}: empty build"
        for resource in resources:
            if resource["kind"] in OPERATOR_KINDS:
                continue
            try:
                kubernetes_validate.validate(resource, version, strict=True)
            except jsonschema.ValidationError as exc:
                pytest.fail(f"{build}: {resource['kind']}/{resource['metadata']['name']} on {version}: {exc.message}")
            checked += 1
    assert checked >= 30


# --- wiring ----------------------------------------------------------------------------------------------------


def test_the_api_deployment_is_built_for_rolling_replicas(production: list[Resource]) -> None:
    api = one(production, "Deployment", "prompter-api")
    spec = pod_spec(api)
    assert api["spec"]["replicas"] >= 2 and api["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    (container,) = spec["containers"]  # one uvicorn process per pod: one scrape target each
    assert container["command"][:2] == ["prompter", "serve"] and "--workers" not in container["command"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    # The grace period covers the whole stop: preStop, the readiness delay, the drain (which must cover one provider
    # call) and the telemetry flush (a 5 s OTLP export per signal); the pods' settings are the ConfigMap's.
    settings = Settings.from_env(settings_env())
    assert settings.server.shutdown_drain_s >= settings.providers.timeout_s
    stop_s = int(pre_stop[1]) + settings.server.shutdown_delay_s + settings.server.shutdown_drain_s + 2 * 5
    assert spec["terminationGracePeriodSeconds"] > stop_s
    assert settings.server.keep_alive_s > 60  # ingress-nginx's upstream keep-alive timeout
    assert settings.server.forwarded_allow_ips != "127.0.0.1", "behind the ingress, X-Forwarded-Proto must be trusted"
    for key in ("cpu", "memory"):
        assert container["resources"]["requests"][key] and container["resources"]["limits"][key]
    assert spec["securityContext"]["runAsNonRoot"] is True and spec["automountServiceAccountToken"] is False
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    spread = {c["topologyKey"]: c for c in spec["topologySpreadConstraints"]}
    assert spread["kubernetes.io/hostname"]["labelSelector"]["matchLabels"].items() <= pod_labels(api).items()


def pod_labels(resource: Resource) -> dict[str, str]:
    return resource["spec"]["template"]["metadata"]["labels"]


def test_every_reference_resolves(production: list[Resource]) -> None:
    secret = secret_template()
    secret_keys = set(secret["stringData"])
    for workload in [r for r in production if r["kind"] in ("Deployment", "Job")]:
        spec = pod_spec(workload)
        where = f"{workload['kind']}/{workload['metadata']['name']}"
        assert spec.get("serviceAccountName", "default") in {"default"} | {
            r["metadata"]["name"] for r in production if r["kind"] == "ServiceAccount"
        }, where
        for container in spec["containers"]:
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    one(production, "ConfigMap", source["configMapRef"]["name"])
                else:
                    assert source["secretRef"]["name"] == secret["metadata"]["name"], where
            mounts = {m["name"] for m in container.get("volumeMounts", [])}
            assert mounts <= {v["name"] for v in spec.get("volumes", [])}, where
        for volume in spec.get("volumes", []):
            if "configMap" in volume:
                one(production, "ConfigMap", volume["configMap"]["name"])
    # Every setting the pods get is one Prompter knows: a typo would silently fall back to a default.
    known = documented_settings()
    assert len(known) > 20
    assert set(configmap(production, "prompter-config")["data"]) <= known
    assert secret_keys <= known
    # Credentials only ever come from the Secret.
    assert not [
        k for k in configmap(production, "prompter-config")["data"] if re.search(r"SECRET|PASSWORD|KEY|_URL$", k)
    ]
    assert {"DB_URL", "REDIS_URL", "METRICS_BASIC_AUTH_PASSWORD", "PROMPTER_UI_SECRET"} <= secret_keys
    # The namespace of the Secret template is the one the production overlay deploys into.
    namespaced = [r for r in production if r["kind"] not in CLUSTER_SCOPED]
    assert {r["metadata"].get("namespace") for r in namespaced} == {secret["metadata"]["namespace"]}


def test_postgres_is_migrated_by_the_job_never_by_the_pods(production: list[Resource]) -> None:
    api, job = one(production, "Deployment", "prompter-api"), one(production, "Job", "prompter-migrate")
    assert configmap(production, "prompter-config")["data"]["PROMPTER_DB_AUTO_MIGRATE"] == "false"
    (migrate,) = pod_spec(job)["containers"]
    (serve,) = pod_spec(api)["containers"]
    assert migrate["command"] == ["prompter", "migrate"] and pod_spec(job)["restartPolicy"] == "Never"
    assert migrate["image"] == serve["image"] and migrate["envFrom"] == serve["envFrom"]
    assert serve["image"].startswith("registry.example.com/"), "the production overlay sets the release image"
    # Apply order, step 1 (README): `kubectl apply -k ... -l 'app.kubernetes.io/component in (config,migration)'`
    # must bring everything the Job needs except the Secret, and no serving pod.
    phase = [
        r
        for r in production
        if r["metadata"].get("labels", {}).get("app.kubernetes.io/component") in ("config", "migration")
    ]
    assert {r["kind"] for r in phase} == {"ServiceAccount", "ConfigMap", "Job"}
    configmap(phase, "prompter-config")
    one(phase, "ServiceAccount", pod_spec(job)["serviceAccountName"])


def test_service_pdb_hpa_and_monitors_select_the_api_pods(production: list[Resource]) -> None:
    api = one(production, "Deployment", "prompter-api")
    labels, (container,) = pod_labels(api), pod_spec(api)["containers"]
    port_names = {p["name"] for p in container["ports"]}
    service = one(production, "Service", "prompter-api")
    assert service["spec"]["selector"].items() <= labels.items()
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= port_names
    pdb = one(production, "PodDisruptionBudget", "prompter-api")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    hpa = one(production, "HorizontalPodAutoscaler", "prompter-api")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "prompter-api"}
    assert 2 <= hpa["spec"]["minReplicas"] <= api["spec"]["replicas"] <= hpa["spec"]["maxReplicas"]
    monitor = one(production, "ServiceMonitor", "prompter-api")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]} and endpoint["path"] == "/metrics"
    secret = secret_template()
    for part in ("username", "password"):
        ref = endpoint["basicAuth"][part]
        assert ref["name"] == secret["metadata"]["name"] and ref["key"] in secret["stringData"]
    assert {endpoint["basicAuth"][p]["key"] for p in ("username", "password")} == {
        "METRICS_BASIC_AUTH_USER",
        "METRICS_BASIC_AUTH_PASSWORD",
    }, "Prometheus must send the pair the app checks"


def test_network_policies_let_only_the_ingress_and_prometheus_in(production: list[Resource]) -> None:
    policies = {r["metadata"]["name"]: r["spec"] for r in production if r["kind"] == "NetworkPolicy"}
    deny = policies.pop("default-deny-ingress")
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress"]}, "everything else in the namespace is closed"
    for spec in policies.values():
        for rule in spec["ingress"]:
            assert rule.get("from"), "a rule without `from` would admit every source"
            assert all("ipBlock" not in peer for peer in rule["from"])
    api = policies["prompter-api"]
    api_pods = pod_labels(one(production, "Deployment", "prompter-api"))
    assert api["podSelector"]["matchLabels"].items() <= api_pods.items()
    (rule,) = api["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8000}]
    namespaces = {peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for peer in rule["from"]}
    assert namespaces == {"ingress-nginx", "monitoring"}


def test_the_collector_runs_the_repository_otel_collector_yaml(production: list[Resource]) -> None:
    original = (REPO_ROOT / "otel-collector.yaml").read_text()
    assert (KUBERNETES_DIR / "base" / "otel-collector.yaml").read_text() == original, (
        "deploy/kubernetes/base/otel-collector.yaml must be a copy of otel-collector.yaml (kustomize cannot read "
        "files outside its folder): cp otel-collector.yaml deploy/kubernetes/base/"
    )
    collector = one(production, "Deployment", "otel-collector")
    spec = pod_spec(collector)
    (container,) = spec["containers"]
    (volume,) = [v for v in spec["volumes"] if "configMap" in v]
    config = configmap(production, "otel-collector-config")
    assert volume["configMap"]["name"] == config["metadata"]["name"] and config["data"]["config.yaml"] == original
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
    assert container["args"] == [f"--config={mount['mountPath']}/config.yaml"]
    # Every port the config listens on is a container port, and the Service/PodMonitor name real ones.
    listens = {int(port) for port in re.findall(r"0\.0\.0\.0:(\d+)", original)}
    listens |= {int(m) for m in re.findall(r"port: (\d+)", original)}
    ports = {p["containerPort"]: p["name"] for p in container["ports"]}
    assert listens == set(ports), (listens, ports)
    service = one(production, "Service", "otel-collector")
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= set(ports.values())
    monitor = one(production, "PodMonitor", "otel-collector")
    assert {e["port"] for e in monitor["spec"]["podMetricsEndpoints"]} <= set(ports.values())
    api_env = configmap(production, "prompter-config")["data"]["OTEL_EXPORTER_OTLP_ENDPOINT"]
    otlp_http = next(p for p in service["spec"]["ports"] if p["name"] == "otlp-http")["port"]
    assert api_env == f"http://{service['metadata']['name']}:{otlp_http}"


def test_request_rate_hpa_variant(kustomize_build: Build, tmp_path: Path) -> None:
    hpa = one(kustomize_build(_variant_dir(tmp_path)), "HorizontalPodAutoscaler", "prompter-api")
    (metric,) = hpa["spec"]["metrics"]
    assert metric["type"] == "Pods" and metric["pods"]["metric"]["name"] == "starlette_requests_per_second"
    rules = yaml.safe_load((KUBERNETES_DIR / "components" / "hpa-request-rate" / "adapter-rule.yaml").read_text())
    (rule,) = rules["rules"]
    assert rule["name"]["as"] == "starlette_requests_per_second"
    # The adapter reads a counter of the metric contract, under the name /metrics really exports.
    assert rule["seriesQuery"].startswith(f"{contract.HTTP_REQUESTS.prometheus}{{")
    assert re.search(rf"^\s+matches: \^{contract.HTTP_REQUESTS.prometheus}\$$", _adapter_text(), flags=re.M)


def _adapter_text() -> str:
    return (KUBERNETES_DIR / "components" / "hpa-request-rate" / "adapter-rule.yaml").read_text()
