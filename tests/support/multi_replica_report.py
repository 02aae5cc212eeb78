"""What the multi-replica proof measured (tests/support/multi_replica.py): the settings it ran with, every answer the
client saw, and what the database, the LLM server, HAProxy and the dashboard's queries said afterwards; printed by
`lines()`, judged by `verdict()`."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from tests.support.load import Answer


@dataclass(frozen=True)
class ProofConfig:
    replicas: int = 3
    total: int = 450  # operations of the load (a third creates), before waiting for the restarted replica
    max_total: int = 1500  # hard bound on operations
    concurrency: int = 8
    kill_at: float = 1 / 3  # SIGTERM the victim once this share of `total` is answered
    served_after_restart: int = 10  # keep the load going until the restarted victim served this many
    provider_delay_s: float = 0.05
    scrape_interval_s: float = 1.0
    deadline_s: float = 150.0
    templates: int = 6


@dataclass
class ProofReport:
    config: ProofConfig
    answers: list[Answer]
    victim: str
    sigterm_at: float
    victim_exit_code: int
    drain_s: float
    back_up_s: float  # from SIGTERM to HAProxy reporting the restarted victim UP
    load_s: float
    rows: dict[str, int]  # table -> rows in PostgreSQL
    row_ids_match: dict[str, bool]  # kind -> the set of ids answered 201 == the set of ids stored
    provider_calls: dict[str, int]  # "run" | "probe" -> completions the LLM server answered
    dashboard: dict[str, float]  # kind -> total from the dashboard's panel query, summed over instances
    inserts_panel: float  # "Result inserts per second" integrated over the window
    error_ratio: float | None
    per_replica: dict[str, int]
    haproxy: dict[str, dict[str, str]]
    notes: list[str] = field(default_factory=list)

    def ok(self, kind: str) -> list[Answer]:
        return [a for a in self.answers if a.kind == kind and a.status == 201]

    @property
    def failed(self) -> list[Answer]:
        return [a for a in self.answers if a.status != 201]

    def tolerance(self, kind: str) -> int:
        """The most `kind` answers the client got within any one scrape interval: what one missed scrape can hide."""
        times = sorted(a.finished for a in self.ok(kind))
        return max(
            (bisect.bisect_right(times, t + self.config.scrape_interval_s) - i for i, t in enumerate(times)), default=0
        )

    def drained_by_victim(self) -> int:
        return sum(1 for a in self.answers if a.served_by == self.victim and a.started < self.sigterm_at < a.finished)

    def lines(self) -> list[str]:
        latencies = sorted(a.finished - a.started for a in self.answers)
        p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
        creates, runs = len(self.ok("create")), len(self.ok("run"))
        out = [
            f"replicas {self.config.replicas} behind haproxy, concurrency {self.config.concurrency}, "
            f"scrape interval {self.config.scrape_interval_s:g}s, LLM delay {self.config.provider_delay_s * 1000:.0f} ms",
            f"requests {len(self.answers)} in {self.load_s:.1f}s ({len(self.answers) / self.load_s:.0f}/s): "
            f"{creates} creates 201, {runs} runs 201, failed {len(self.failed)}; "
            f"latency p50 {p(0.5):.0f} ms, p95 {p(0.95):.0f} ms, max {p(1.0):.0f} ms",
            f"served per replica: {', '.join(f'{k} {v}' for k, v in sorted(self.per_replica.items()))}",
            f"SIGTERM {self.victim}: in-flight requests it finished {self.drained_by_victim()}, exit code "
            f"{self.victim_exit_code} after {self.drain_s:.2f}s; restarted, UP in haproxy {self.back_up_s:.1f}s "
            f"after the SIGTERM",
            f"client retries under the same Idempotency-Key: {sum(1 for a in self.answers if a.retried_after)}",
            "haproxy retries/redispatches per replica: "
            + ", ".join(f"{k} {v['wretr']}/{v['wredis']}" for k, v in sorted(self.haproxy.items())),
            f"postgres rows: prompt_templates {self.rows['prompt_templates']} (201 creates {creates}), "
            f"prompt_results {self.rows['prompt_results']} (201 runs {runs}); ids equal: {self.row_ids_match}",
            f"LLM calls: {self.provider_calls['run']} completions for {runs} runs, {self.provider_calls['probe']} probes",
            f"dashboard (sum over instances): creates {self.dashboard['create']:.1f} vs {creates}, runs "
            f"{self.dashboard['run']:.1f} vs {runs} (±{self.tolerance('create')}/±{self.tolerance('run')}: one "
            f"scrape interval), result inserts {self.inserts_panel:.1f}, 5xx ratio {self.error_ratio}",
        ]
        out += [f"  failed: {a.kind} -> {a.status} via {a.served_by}: {a.error}" for a in self.failed[:5]]
        out += [f"  retried: {a.kind} after {a.retried_after}" for a in self.answers if a.retried_after][:5]
        return out + self.notes


def verdict(report: ProofReport) -> list[str]:
    """What the proof claims, as a list of broken claims (empty: it holds)."""
    creates, runs = len(report.ok("create")), len(report.ok("run"))
    problems = []
    if report.failed:
        problems.append(f"{len(report.failed)} failed requests")
    if report.rows != {"prompt_templates": creates, "prompt_results": runs} or not all(report.row_ids_match.values()):
        problems.append(f"rows {report.rows} != 201 answers (creates {creates}, runs {runs})")
    if report.provider_calls["run"] != runs:
        problems.append(f"{report.provider_calls['run']} LLM completions for {runs} runs")
    for kind, counted in (("create", creates), ("run", runs)):
        if abs(report.dashboard[kind] - counted) > report.tolerance(kind):
            problems.append(f"dashboard {kind} {report.dashboard[kind]:.1f} vs client {counted}")
    if abs(report.inserts_panel - runs) > report.tolerance("run"):
        problems.append(f"dashboard inserts {report.inserts_panel:.1f} vs client {runs}")
    if report.error_ratio != 0:
        problems.append(f"5xx ratio {report.error_ratio}")
    if report.victim_exit_code != 0:
        problems.append(f"{report.victim} exited {report.victim_exit_code} after SIGTERM")
    return problems
