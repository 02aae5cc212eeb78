"""grafana/dashboards/prompter-rollout.json: only contract metrics, always aggregated, always filtered.

`panel_exprs`, `substitute_template_vars` and `metric_names` live in service/dashboard_check.py, so
`prompter check-dashboard` and these tests read the dashboard the same way.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.cli.dashboard_check import metric_names, panel_exprs, substitute_template_vars

DASHBOARD = Path("grafana/dashboards/prompter-rollout.json")

# The metric contract (Prometheus names). Histograms are listed by base name.
CONTRACT_COUNTERS_AND_GAUGES = {
    "starlette_requests_total",
    "prompter_db_unique_violation_total",
    "prompter_prompt_results_insert_total",
    "prompter_openai_fingerprint_present_total",
    "prompter_redis_up",
    "prompter_probe_attempt_total",
    "prompter_probe_failure_total",
    "prompter_cache_hit_total",
    "prompter_cache_miss_total",
    "prompter_model_drift_total",
    "prompter_label_moves_total",
    "prompter_label_drift_total",
    "prompter_response_schema_violations_total",
    "prompter_observations_total",
    "prompter_label_calls_total",
    "prompter_split_calls_total",
    "prompter_split_call_seconds_total",
    "prompter_split_timed_calls_total",
    "prompter_split_drift_total",
    "prompter_rollout_canary_weight",
    "prompter_rollout_decisions_total",
    "prompter_webhook_deliveries_total",
    "prompter_webhook_outbox_lag_seconds",
}
CONTRACT_HISTOGRAMS = {
    "starlette_requests_processing_seconds",
    "prompter_ensure_version_seconds",
    "gen_ai_client_operation_duration_seconds",
    "gen_ai_client_token_usage",
    "prompter_label_call_duration_seconds",
    "prompter_webhook_delivery_duration_seconds",
}
CONTRACT_METRICS = CONTRACT_COUNTERS_AND_GAUGES | {
    f"{base}{suffix}" for base in CONTRACT_HISTOGRAMS for suffix in ("_bucket", "_sum", "_count")
}
REQUIRED_FILTERS = ('service=~"$service"', 'env=~"$env"', 'instance=~"$instance"')


@pytest.fixture(scope="module")
def dashboard(repo_root: Path) -> dict[str, Any]:
    return json.loads((repo_root / DASHBOARD).read_text())


@pytest.fixture(scope="module")
def exprs(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    found = panel_exprs(dashboard)
    assert found, "dashboard has no panel queries"
    return found


# --- the helpers themselves ------------------------------------------------------------------


def test_panel_exprs_walks_nested_row_panels() -> None:
    board = {
        "panels": [
            {"type": "row", "title": "r", "panels": [{"title": "inner", "targets": [{"expr": "a"}, {"refId": "B"}]}]},
            {"title": "outer", "targets": [{"expr": "b"}]},
        ]
    }
    assert panel_exprs(board) == [("inner", "a"), ("outer", "b")]


def test_substitute_template_vars() -> None:
    expr = 'sum by (x) (rate(m{service=~"$service", env=~"${env}", instance=~"[[instance]]"}[$__rate_interval]))'
    assert substitute_template_vars(expr) == 'sum by (x) (rate(m{service=~".*", env=~".*", instance=~".*"}[1m]))'
    assert substitute_template_vars("rate(m[$__interval]) $unknown") == "rate(m[1m]) $unknown"


def test_metric_names_ignores_functions_labels_and_keywords() -> None:
    expr = (
        'histogram_quantile(0.9, sum by (le, route) (rate(a_bucket{route=~"x.y", env="p"}[5m] offset 1d)))'
        " / on (route) group_left b_total or vector(0) * c"
    )
    assert metric_names(expr) == {"a_bucket", "b_total", "c"}


def test_dashboard_contract_is_exported_by_the_app() -> None:
    """The names above (the issue's table) are all in telemetry/contract.py, with the same kind.

    The app may export more (the dashboard need not show everything), never less.
    """
    from telemetry.contract import CONTRACT

    exported = {i.prometheus for i in CONTRACT if i.kind != "histogram"}
    exported_histograms = {i.prometheus for i in CONTRACT if i.kind == "histogram"}
    assert CONTRACT_COUNTERS_AND_GAUGES <= exported, sorted(CONTRACT_COUNTERS_AND_GAUGES - exported)
    assert CONTRACT_HISTOGRAMS <= exported_histograms, sorted(CONTRACT_HISTOGRAMS - exported_histograms)


# --- the dashboard ---------------------------------------------------------------------------


def test_dashboard_identity(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] == "prompter-rollout"
    assert dashboard["title"] == "Prompter Rollout"


def test_panels_fit_the_grid_without_overlapping(dashboard: dict[str, Any]) -> None:
    cells: dict[tuple[int, int], str] = {}
    for panel in dashboard["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "duplicate panel ids"


def test_template_variables(dashboard: dict[str, Any]) -> None:
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert {"service", "env", "instance"} <= variables.keys()
    for name in ("service", "env", "instance"):
        var = variables[name]
        query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
        assert var["type"] == "query", name
        assert re.fullmatch(rf"label_values\(starlette_requests_total(\{{[^}}]*\}})?,\s*{name}\)", query), query
        assert var["multi"] is True and var["includeAll"] is True, name
        assert var["datasource"]["uid"] == "prometheus", name


def test_every_query_uses_the_provisioned_prometheus(dashboard: dict[str, Any], repo_root: Path) -> None:
    provisioned = yaml.safe_load((repo_root / "grafana/provisioning/datasources/datasources.yaml").read_text())
    prometheus_uids = {ds["uid"] for ds in provisioned["datasources"] if ds["type"] == "prometheus"}
    assert prometheus_uids == {"prometheus"}

    def walk(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for panel in panels:
            yield panel
            yield from walk(panel.get("panels") or [])

    for panel in walk(dashboard["panels"]):
        refs = [t["datasource"] for t in panel.get("targets") or []]
        if panel.get("targets"):
            refs.append(panel["datasource"])
        for ref in refs:
            assert ref == {"type": "prometheus", "uid": "prometheus"}, panel.get("title")


def test_queries_use_only_contract_metrics(exprs: list[tuple[str, str]]) -> None:
    for title, expr in exprs:
        names = metric_names(expr)
        assert names, f"{title}: no metric found in {expr}"
        assert names <= CONTRACT_METRICS, f"{title}: not in the metric contract: {sorted(names - CONTRACT_METRICS)}"


def test_queries_aggregate_across_instances(exprs: list[tuple[str, str]]) -> None:
    for title, expr in exprs:
        assert re.search(r"\b(sum|max|min) by \(", expr), f"{title}: no sum/max/min by: {expr}"
        # a bare sum(...) / avg(...) would silently drop the labels the panels group by
        assert not re.search(r"\b(sum|avg|max|min|count)\s*\(", expr), f"{title}: aggregation without by: {expr}"


def test_every_selector_is_filtered(exprs: list[tuple[str, str]]) -> None:
    selector = re.compile(r"\b(" + "|".join(sorted(CONTRACT_METRICS)) + r")\b(\{[^}]*\})?")
    for title, expr in exprs:
        for match in selector.finditer(expr):
            matchers = match.group(2) or ""
            missing = [f for f in REQUIRED_FILTERS if f not in matchers]
            assert not missing, f"{title}: {match.group(1)} lacks {missing}"


def test_required_panels_present(exprs: list[tuple[str, str]]) -> None:
    used = set().union(*(metric_names(e) for _, e in exprs))
    expected = CONTRACT_COUNTERS_AND_GAUGES | {
        "starlette_requests_processing_seconds_bucket",
        "prompter_ensure_version_seconds_bucket",
        "gen_ai_client_operation_duration_seconds_bucket",
    }
    assert expected <= used, f"no panel for {sorted(expected - used)}"
    assert any("gen_ai_client_token_usage" in e and "gen_ai_token_type" in e for _, e in exprs), "no tokens by type"
    quantiles = {
        q
        for _, e in exprs
        if "starlette_requests_processing_seconds_bucket" in e
        for q in re.findall(r"histogram_quantile\(([\d.]+)", e)
    }
    assert {"0.5", "0.95", "0.99"} <= quantiles


def test_response_schema_violations_sit_on_the_rollouts_row(dashboard: dict[str, Any]) -> None:
    """Structured-output breakage is a rollout signal: its panel follows the Rollouts row header, before any other row."""
    row = None
    for panel in dashboard["panels"]:
        if panel.get("type") == "row":
            row = panel["title"]
        elif any("prompter_response_schema_violations_total" in t.get("expr", "") for t in panel.get("targets", [])):
            assert row == "Rollouts", f"{panel['title']!r} is on row {row!r}"
            return
    raise AssertionError("no panel shows prompter_response_schema_violations_total")


def test_the_webhooks_row(dashboard: dict[str, Any]) -> None:
    """Deliveries by outcome, their latency and the outbox lag sit on the Webhooks row, in its id and grid range."""
    row, shown = None, set()
    for panel in dashboard["panels"]:
        if panel.get("type") == "row":
            row = panel["title"]
            if row == "Webhooks":
                assert panel["id"] == 120 and panel["gridPos"]["y"] >= 110
            continue
        exprs = " ".join(t.get("expr", "") for t in panel.get("targets", []))
        if "prompter_webhook_" in exprs:
            assert row == "Webhooks", f"{panel['title']!r} is on row {row!r}"
            assert 120 <= panel["id"] <= 139 and panel["gridPos"]["y"] >= 110, panel["title"]
            shown |= set(re.findall(r"prompter_webhook_\w+", exprs))
    assert shown == {
        "prompter_webhook_deliveries_total",
        "prompter_webhook_delivery_duration_seconds_bucket",
        "prompter_webhook_outbox_lag_seconds",
    }


def test_no_unresolved_variables_after_substitution(exprs: list[tuple[str, str]]) -> None:
    for title, expr in exprs:
        assert "$" not in substitute_template_vars(expr), f"{title}: unknown template variable in {expr}"


def test_queries_are_valid_promql(exprs: list[tuple[str, str]], promtool: str, tmp_path: Path) -> None:
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:panel_{i}", "expr": substitute_template_vars(expr)}
                    for i, (_, expr) in enumerate(exprs)
                ],
            }
        ]
    }
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump(rules, sort_keys=False))
    result = subprocess.run(
        [promtool, "check", "rules", str(path)], check=False, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- evaluated against contract-shaped series from two API processes ------------------------

_STEP_SECONDS = 15
_COMMON = {"job": "prompter", "service": "prompter-api", "env": "prod"}


def _series(name: str, labels: Mapping[str, str], per_second: float, *, gauge: bool = False) -> dict[str, str]:
    body = ", ".join(f'{k}="{v}"' for k, v in {**_COMMON, **labels}.items())
    values = f"{per_second}x40" if gauge else f"0+{per_second * _STEP_SECONDS}x40"
    return {"series": f"{name}{{{body}}}", "values": values}


def _histogram(base: str, labels: Mapping[str, str], per_second: float) -> list[dict[str, str]]:
    # half the observations under 0.1, 80% under 1, all under +Inf
    out = [
        _series(f"{base}_bucket", {**labels, "le": le}, per_second * share)
        for le, share in (("0.1", 0.5), ("1", 0.8), ("+Inf", 1.0))
    ]
    out.append(_series(f"{base}_sum", labels, per_second * 0.4))
    out.append(_series(f"{base}_count", labels, per_second))
    return out


def contract_series() -> list[dict[str, str]]:
    """api-1 and api-2 each serve GET /templates at 1/s; api-2 also fails POST .../run at 0.5/s."""
    series: list[dict[str, str]] = []
    gen_ai = {
        "gen_ai_operation_name": "chat",
        "gen_ai_provider_name": "openai",
        "gen_ai_request_model": "gpt-4o",
        "gen_ai_response_model": "gpt-4o-2024-08-06",
    }
    for instance in ("api-1:8000", "api-2:8000"):
        at = {"instance": instance}
        series.append(
            _series("starlette_requests_total", {**at, "method": "GET", "route": "/templates", "status": "200"}, 1)
        )
        series += _histogram("starlette_requests_processing_seconds", {**at, "method": "GET", "route": "/templates"}, 1)
        series += _histogram("prompter_ensure_version_seconds", {**at, "provider": "openai"}, 0.2)
        series.append(_series("prompter_db_unique_violation_total", {**at, "table": "templates"}, 0.01))
        series.append(_series("prompter_prompt_results_insert_total", at, 0.5))
        series.append(_series("prompter_openai_fingerprint_present_total", at, 0.25))
        series.append(_series("prompter_redis_up", at, 1, gauge=True))
        probe = {**at, "provider": "openai", "model_id": "gpt-4o"}
        series.append(_series("prompter_probe_attempt_total", probe, 0.1))
        series.append(_series("prompter_probe_failure_total", probe, 0.01))
        series.append(_series("prompter_cache_hit_total", at, 0.75))
        series.append(_series("prompter_cache_miss_total", at, 0.25))
        series.append(_series("prompter_model_drift_total", probe, 0.01))
        for kind, per_second in (("move", 0.25), ("rollback", 0.125)):
            series.append(_series("prompter_label_moves_total", {**at, "protected": "true", "kind": kind}, per_second))
        series.append(_series("prompter_label_drift_total", {**at, "provider": "openai"}, 0.01))
        series.append(_series("prompter_response_schema_violations_total", {**at, "provider": "openai"}, 0.01))
        for outcome, per_second in (("ok", 0.9), ("error", 0.1)):
            traffic = {**at, "label": "production", "provider": "openai", "outcome": outcome}
            series.append(_series("prompter_label_calls_total", traffic, per_second))
        series += _histogram(
            "prompter_label_call_duration_seconds", {**at, "label": "production", "provider": "openai"}, 1
        )
        series.append(_series("prompter_observations_total", {**at, "source": "api", "fate": "accepted"}, 1))
        # a 90/10 split of `production`: the canary (variant 1) fails a fifth of its calls and is twice as slow
        for variant, ok, error, seconds in (("0", 0.9, 0.0, 0.09), ("1", 0.08, 0.02, 0.02)):
            arm = {**at, "label": "production", "variant": variant}
            series.append(_series("prompter_split_calls_total", {**arm, "outcome": "ok"}, ok))
            series.append(_series("prompter_split_calls_total", {**arm, "outcome": "error"}, error))
            series.append(_series("prompter_split_call_seconds_total", arm, seconds))
            series.append(_series("prompter_split_timed_calls_total", arm, ok))
            series.append(_series("prompter_split_drift_total", arm, 0.01 if variant == "1" else 0.0))
        series.append(_series("prompter_rollout_canary_weight", {**at, "label": "production"}, 10, gauge=True))
        for action, per_second in (("promote", 0.01), ("abort", 0.0)):
            decided = {**at, "label": "production", "action": action}
            series.append(_series("prompter_rollout_decisions_total", decided, per_second))
        for outcome, per_second in (("success", 0.5), ("timeout", 0.125)):
            series.append(_series("prompter_webhook_deliveries_total", {**at, "outcome": outcome}, per_second))
            series += _histogram("prompter_webhook_delivery_duration_seconds", {**at, "outcome": outcome}, per_second)
        series.append(_series("prompter_webhook_outbox_lag_seconds", at, 3, gauge=True))
        series += _histogram("gen_ai_client_operation_duration_seconds", {**at, **gen_ai}, 0.5)
        series += _histogram(
            "gen_ai_client_operation_duration_seconds", {**at, **gen_ai, "error_type": "timeout"}, 0.05
        )
        for token_type in ("input", "output"):
            series += _histogram("gen_ai_client_token_usage", {**at, **gen_ai, "gen_ai_token_type": token_type}, 0.5)
    series.append(
        _series(
            "starlette_requests_total",
            {"instance": "api-2:8000", "method": "POST", "route": "/templates/{template_id}/run", "status": "503"},
            0.5,
        )
    )
    return series


def _rounded(expr: str) -> str:
    return f"round({expr}, 0.001)"  # rates of made-up series are off by float error in the last digits


def _rollout_annotation() -> str:
    board = json.loads(DASHBOARD.read_text())
    (annotation,) = [a for a in board["annotations"]["list"] if a["name"] == "Rollout decisions"]
    return annotation["expr"]


def test_rollout_decisions_are_annotations_and_arms_sit_on_their_row(dashboard: dict[str, Any]) -> None:
    (annotation,) = [a for a in dashboard["annotations"]["list"] if a["name"] == "Rollout decisions"]
    assert annotation["datasource"] == {"type": "prometheus", "uid": "prometheus"} and annotation["enable"] is True
    expr = annotation["expr"]
    assert metric_names(expr) == {"prompter_rollout_decisions_total"} and "sum by (label, action)" in expr
    assert all(f in expr for f in REQUIRED_FILTERS)
    row = [p for p in dashboard["panels"] if p["id"] == 100]
    assert row and row[0]["type"] == "row" and row[0]["gridPos"]["y"] >= 90
    arms = [p for p in dashboard["panels"] if 100 < p["id"] <= 119]
    assert {p["title"] for p in arms} >= {
        "Traffic share by arm",
        "Error ratio by arm",
        "Mean latency by arm",
        "Identity drift by arm",
        "Canary weight (current step)",
        "Rollout decisions",
    }
    assert all(p["gridPos"]["y"] > 90 for p in arms)


def _expr_of(exprs: list[tuple[str, str]], title: str) -> str:
    matches = [expr for t, expr in exprs if t == title]
    assert len(matches) == 1, f"expected one query in panel {title!r}, found {len(matches)}"
    return substitute_template_vars(matches[0])


def test_queries_return_data_and_sum_across_instances(
    exprs: list[tuple[str, str]], promtool: str, tmp_path: Path
) -> None:
    # Each panel query becomes an alert that fires iff the query returns at least one series.
    rules = {
        "groups": [
            {
                "name": "panels",
                "rules": [
                    {"alert": f"Panel{i}", "expr": f"count({substitute_template_vars(expr)}) > 0"}
                    for i, (_, expr) in enumerate(exprs)
                ],
            }
        ]
    }
    (tmp_path / "panels.yml").write_text(yaml.safe_dump(rules, sort_keys=False))
    tests = {
        "rule_files": ["panels.yml"],
        "evaluation_interval": "15s",
        "tests": [
            {
                "interval": f"{_STEP_SECONDS}s",
                "input_series": contract_series(),
                "alert_rule_test": [
                    {"eval_time": "5m", "alertname": f"Panel{i}", "exp_alerts": [{"exp_labels": {}}]}
                    for i in range(len(exprs))
                ],
                "promql_expr_test": [
                    {
                        "expr": _expr_of(exprs, "Request rate by route"),
                        "eval_time": "5m",
                        "exp_samples": [
                            {"labels": '{route="/templates"}', "value": 2},
                            {"labels": '{route="/templates/{template_id}/run"}', "value": 0.5},
                        ],
                    },
                    {
                        "expr": _expr_of(exprs, "Error ratio (5xx / all)"),
                        "eval_time": "5m",
                        "exp_samples": [
                            {"labels": '{service="prompter-api", env="prod"}', "value": 0.2},
                        ],
                    },
                    {
                        "expr": _expr_of(exprs, "OpenAI fingerprint rate"),
                        "eval_time": "5m",
                        "exp_samples": [
                            {"labels": '{service="prompter-api", env="prod"}', "value": 0.5},
                        ],
                    },
                    {
                        "expr": _expr_of(exprs, "Probe-cache hit ratio"),
                        "eval_time": "5m",
                        "exp_samples": [
                            {"labels": '{service="prompter-api", env="prod"}', "value": 0.75},
                        ],
                    },
                    {
                        # 1 min window at 15 s steps: 4 steps' increase, summed over both instances
                        "expr": _expr_of(exprs, "Label moves and rollbacks"),
                        "eval_time": "5m",
                        "exp_samples": [
                            {"labels": '{kind="move", protected="true"}', "value": 30},
                            {"labels": '{kind="rollback", protected="true"}', "value": 15},
                        ],
                    },
                    {
                        "expr": _expr_of(exprs, "Error ratio by label"),
                        "eval_time": "5m",
                        "exp_samples": [{"labels": '{label="production"}', "value": 0.1}],
                    },
                    {
                        "expr": _rounded(_expr_of(exprs, "Traffic share by arm")),
                        "eval_time": "5m",
                        "exp_samples": [
                            {"labels": '{label="production", variant="0"}', "value": 0.9},
                            {"labels": '{label="production", variant="1"}', "value": 0.1},
                        ],
                    },
                    {
                        "expr": _rounded(_expr_of(exprs, "Error ratio by arm")),
                        "eval_time": "5m",
                        "exp_samples": [
                            {"labels": '{label="production", variant="0"}', "value": 0},
                            {"labels": '{label="production", variant="1"}', "value": 0.2},
                        ],
                    },
                    {
                        "expr": _rounded(_expr_of(exprs, "Mean latency by arm")),
                        "eval_time": "5m",
                        "exp_samples": [
                            {"labels": '{label="production", variant="0"}', "value": 0.1},
                            {"labels": '{label="production", variant="1"}', "value": 0.25},
                        ],
                    },
                    {
                        "expr": _expr_of(exprs, "Canary weight (current step)"),
                        "eval_time": "5m",
                        "exp_samples": [{"labels": '{label="production"}', "value": 10}],
                    },
                    {
                        "expr": _rounded(substitute_template_vars(_rollout_annotation())),
                        "eval_time": "5m",
                        "exp_samples": [{"labels": '{label="production", action="promote"}', "value": 1.2}],
                    },
                    {
                        "expr": _expr_of(exprs, "Webhook deliveries by outcome"),
                        "eval_time": "5m",
                        "exp_samples": [
                            {"labels": '{outcome="success"}', "value": 1},
                            {"labels": '{outcome="timeout"}', "value": 0.25},
                        ],
                    },
                    {
                        "expr": _expr_of(exprs, "Webhook outbox lag"),
                        "eval_time": "5m",
                        "exp_samples": [{"labels": '{service="prompter-api", env="prod"}', "value": 3}],
                    },
                    {
                        "expr": _expr_of(exprs, "Redis up"),
                        "eval_time": "5m",
                        "exp_samples": [
                            {"labels": '{service="prompter-api", env="prod", instance="api-1:8000"}', "value": 1},
                            {"labels": '{service="prompter-api", env="prod", instance="api-2:8000"}', "value": 1},
                        ],
                    },
                ],
            }
        ],
    }
    (tmp_path / "panels_test.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
    result = subprocess.run(
        [promtool, "test", "rules", "panels_test.yml"],
        cwd=tmp_path,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
