"""`prompter check-dashboard`: which panels of the Grafana rollout dashboard have data in a given Prometheus.

Every panel query (`expr`) of the dashboard is evaluated through Prometheus's HTTP API (`/api/v1/query`) with the
template variables replaced the way Grafana would with "All" selected (`.*`), and the panel is reported as having data
when each of its queries returns at least one series. tests/observability/ uses the same functions: the static tests
check the dashboard's expressions, the live test (test_live_prometheus.py) runs this check against a real Prometheus
scraping a real `prompter serve`.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

DASHBOARD_IN_REPO = Path("grafana/dashboards/prompter-rollout.json")

# What a variable stands for when an expression is evaluated outside Grafana: "All" for the dashboard's own variables.
# $__rate_interval is what Grafana computes for a 15 s scrape interval on a short time range: max(4 x 15 s, step + 15 s).
TEMPLATE_VALUES: Mapping[str, str] = {
    "service": ".*",
    "env": ".*",
    "instance": ".*",
    "__rate_interval": "1m",
    "__interval": "1m",
}
_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)")
_PROMQL_KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
}


# --- reading the dashboard -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PanelQuery:
    panel: str
    ref_id: str
    expr: str


def panel_queries(dashboard: Mapping[str, Any]) -> list[PanelQuery]:
    """Every target with an `expr` of every panel, including panels nested in collapsed rows, in dashboard order."""

    def walk(panels: Sequence[Mapping[str, Any]] | None) -> Iterator[PanelQuery]:
        for panel in panels or []:
            for index, target in enumerate(panel.get("targets") or []):
                if target.get("expr"):
                    ref_id = target.get("refId") or chr(ord("A") + index)
                    yield PanelQuery(panel.get("title", ""), ref_id, target["expr"])
            yield from walk(panel.get("panels"))

    return list(walk(dashboard.get("panels")))


def panel_exprs(dashboard: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(panel title, expr) of every target of every panel, including panels nested in rows."""
    return [(query.panel, query.expr) for query in panel_queries(dashboard)]


def substitute_template_vars(expr: str, values: Mapping[str, str] = TEMPLATE_VALUES) -> str:
    """Replace $var, ${var}, ${var:fmt} and [[var]] by `values`; unknown variables stay as written."""

    def replace(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        return values.get(name, match.group(0))

    return _VARIABLE.sub(replace, expr)


def metric_names(expr: str) -> set[str]:
    """Metric names an expression selects: identifiers that are not functions, keywords or labels."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # range and subquery selectors
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\boffset\s+\S+", " ", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        if text[match.end() :].lstrip().startswith("("):
            continue  # function or aggregation
        if match.group(0) not in _PROMQL_KEYWORDS:
            names.add(match.group(0))
    return names


def default_dashboard() -> Path | None:
    """The dashboard shipped with Prompter: next to the package in a repository checkout (or an editable install),
    else under the working directory (the API image runs from its copy of the repository, /app). None when neither
    exists, e.g. a wheel installed elsewhere: then --dashboard is required."""
    for base in (Path(__file__).resolve().parents[2], Path.cwd()):
        candidate = base / DASHBOARD_IN_REPO
        if candidate.is_file():
            return candidate
    return None


def load_dashboard(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    # A dashboard saved through Grafana's HTTP API comes wrapped: {"dashboard": {...}, "meta": {...}}.
    if "panels" not in data and isinstance(data.get("dashboard"), dict):
        data = data["dashboard"]
    return data


# --- asking Prometheus -----------------------------------------------------------------------


@dataclass(slots=True)
class QueryResult:
    query: PanelQuery
    promql: str  # the expression as sent, variables substituted
    series: int = 0
    finite: int = 0  # series whose value is a number (a ratio of two zero rates is NaN: a panel that shows nothing)
    error: str | None = None
    missing_metrics: list[str] = field(default_factory=list)  # filled for a query without series

    @property
    def has_data(self) -> bool:
        return self.error is None and self.series > 0


@dataclass(slots=True)
class PanelResult:
    title: str
    queries: list[QueryResult]

    @property
    def has_data(self) -> bool:
        return all(query.has_data for query in self.queries)


def without_password(url: str) -> str:
    parsed = httpx.URL(url)
    return str(parsed.copy_with(password="***")) if parsed.password else url


class PrometheusUnavailable(Exception):
    """Prometheus did not answer, or answered something that is not its query API."""


class PrometheusClient:
    def __init__(self, base_url: str, *, timeout_s: float = 10.0) -> None:
        # Credentials in the URL (http://user:password@host:9090) become HTTP basic auth.
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s)
        self.display_url = without_password(base_url)

    def query(self, promql: str) -> list[dict[str, Any]] | float:
        """An instant query: the vector's series, or a scalar. Raises ValueError for a query Prometheus rejects."""
        try:
            # POST form: panel expressions can be longer than a comfortable URL.
            response = self._http.post("/api/v1/query", data={"query": promql})
        except httpx.HTTPError as exc:
            raise PrometheusUnavailable(f"{self.display_url}: {exc.__class__.__name__}: {exc}") from exc
        try:
            body = response.json()
        except ValueError:
            raise PrometheusUnavailable(
                f"{self.display_url} answered {response.status_code} without JSON: is this Prometheus?"
            ) from None
        if body.get("status") != "success":
            if response.status_code in (400, 422):
                raise ValueError(f"{body.get('errorType')}: {body.get('error')}")
            raise PrometheusUnavailable(f"{self.display_url} answered {response.status_code}: {body.get('error')}")
        data = body["data"]
        if data["resultType"] == "vector":
            return data["result"]
        if data["resultType"] == "scalar":
            return float(data["result"][1])
        raise ValueError(f"unexpected result type {data['resultType']!r} for an instant query")

    def close(self) -> None:
        self._http.close()


def _count(result: list[dict[str, Any]] | float) -> tuple[int, int]:
    values = [result] if isinstance(result, float) else [float(series["value"][1]) for series in result]
    return len(values), sum(1 for value in values if math.isfinite(value))


def check_dashboard(
    prometheus: PrometheusClient, dashboard: Mapping[str, Any], values: Mapping[str, str] = TEMPLATE_VALUES
) -> list[PanelResult]:
    """Evaluate every panel query now; for a query without series, name its metrics Prometheus has never seen."""
    panels: dict[str, PanelResult] = {}
    for query in panel_queries(dashboard):
        promql = substitute_template_vars(query.expr, values)
        result = QueryResult(query, promql)
        try:
            result.series, result.finite = _count(prometheus.query(promql))
        except ValueError as exc:
            result.error = str(exc)
        if result.series == 0 and result.error is None:
            result.missing_metrics = sorted(
                name for name in metric_names(promql) if not prometheus.query(f'count({{__name__="{name}"}})')
            )
        panels.setdefault(query.panel, PanelResult(query.panel, [])).queries.append(result)
    return list(panels.values())


# --- the command -----------------------------------------------------------------------------


def _describe(query: QueryResult, *, with_ref: bool) -> str:
    ref = f"{query.query.ref_id}: " if with_ref else ""
    if query.error is not None:
        return f"{ref}query error"
    if query.series == 0:
        return f"{ref}no series"
    text = f"{ref}{query.series} series"
    if query.finite == 0:
        text += " (all NaN: no traffic in the window?)"
    return text


def format_report(panels: Sequence[PanelResult]) -> list[str]:
    width = max((len(panel.title) for panel in panels), default=0)
    lines = []
    for panel in panels:
        status = "ok     " if panel.has_data else "NO DATA"
        detail = ", ".join(_describe(q, with_ref=len(panel.queries) > 1) for q in panel.queries)
        lines.append(f"{status}  {panel.title.ljust(width)}  {detail}")
        for query in panel.queries:
            if query.has_data:
                continue
            lines.append(f"           {query.query.ref_id}: {query.promql}")
            if query.error is not None:
                lines.append(f"           Prometheus: {query.error}")
            elif query.missing_metrics:
                lines.append(f"           never scraped: {', '.join(query.missing_metrics)}")
            else:
                lines.append("           the metrics exist, but nothing matches the filters in this window")
    empty = [panel.title for panel in panels if not panel.has_data]
    if not panels:
        lines.append("The dashboard has no panel queries.")
    elif empty:
        lines.append(f"{len(empty)} of {len(panels)} panels have no data.")
    else:
        lines.append(f"All {len(panels)} panels have data.")
    return lines


def parse_vars(pairs: Sequence[str]) -> dict[str, str]:
    """--var name=value (repeatable) on top of TEMPLATE_VALUES; a value is a regex, as Grafana sends multi-values."""
    values = dict(TEMPLATE_VALUES)
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--var {pair!r}: expected name=value, e.g. service=prompter-api")
        values[name.strip().lstrip("$")] = value
    return values


def run(prometheus_url: str, dashboard_file: str | None, var_pairs: Sequence[str], *, timeout_s: float = 10.0) -> int:
    """0: every panel has series; 1: some panel has none (or Prometheus cannot be asked); 2: bad arguments."""
    path = Path(dashboard_file) if dashboard_file else default_dashboard()
    if path is None:
        print(
            f"check-dashboard: {DASHBOARD_IN_REPO} not found next to the installed package or in the current "
            "directory; pass --dashboard FILE",
            file=sys.stderr,
        )
        return 2
    try:
        dashboard = load_dashboard(path)
        values = parse_vars(var_pairs)
    except (OSError, ValueError) as exc:
        print(f"check-dashboard: {exc}", file=sys.stderr)
        return 2
    filters = " ".join(f"{name}={values[name]}" for name in ("service", "env", "instance"))
    print(f"{dashboard.get('title', path.name)} ({path}) against {without_password(prometheus_url)}, {filters}")
    client = PrometheusClient(prometheus_url, timeout_s=timeout_s)
    try:
        panels = check_dashboard(client, dashboard, values)
    except PrometheusUnavailable as exc:
        print(f"check-dashboard: cannot query Prometheus: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    for line in format_report(panels):
        print(line)
    return 0 if panels and all(panel.has_data for panel in panels) else 1
