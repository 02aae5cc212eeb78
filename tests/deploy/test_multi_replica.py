"""Three `prompter serve` replicas behind HAProxy, one SIGTERM'd and restarted under load: nothing is lost.

The harness is tests/support/multi_replica.py (also behind scripts/multi-replica-proof); this test holds it to the
claims of README.md, "Running on Kubernetes": no failed request, one row per 201 and one LLM call per run, and the
dashboard's request and insert panels, summed over the replicas, equal to the client's counts within what one scrape
interval can hide (the restarted replica's last second is never scraped; rate() extrapolates at the window's edges).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import need
from tests.support import haproxy, prometheus_server
from tests.support.multi_replica import run_proof
from tests.support.multi_replica_report import ProofConfig

pytestmark = pytest.mark.slow


def test_three_replicas_lose_nothing_when_one_restarts_under_load(pg_url: str, redis_url: str, tmp_path: Path) -> None:
    if haproxy.binary() is None:
        need("haproxy not installed (Debian: apt-get install haproxy; ./scripts/test installs it)")
    if prometheus_server.binary() is None:
        need("prometheus not installed (Debian: apt-get install prometheus; ./scripts/test installs it)")
    report = run_proof(pg_url, redis_url, tmp_path, ProofConfig(), say=print)
    print("\n".join(report.lines()))

    assert not report.failed, [(a.kind, a.status, a.served_by, a.error) for a in report.failed][:20]
    creates, runs = len(report.ok("create")), len(report.ok("run"))
    assert creates >= 150 and runs >= 300
    # The SIGTERM'd replica drained and exited cleanly, came back and served again; every replica took traffic.
    assert report.victim_exit_code == 0
    assert set(report.per_replica) == {f"r{i}" for i in range(report.config.replicas)}
    after = [
        a for a in report.answers if a.served_by == report.victim and a.started > report.sigterm_at + report.drain_s
    ]
    assert len(after) >= report.config.served_after_restart
    # One row per 201, the very rows answered, and one LLM completion per run (no retried run called it twice).
    assert report.rows == {"prompt_templates": creates, "prompt_results": runs}
    assert report.row_ids_match == {"create": True, "run": True}
    assert report.provider_calls["run"] == runs
    # The dashboard, summed over instances, tells the same story.
    for kind in ("create", "run"):
        counted = len(report.ok(kind))
        assert abs(report.dashboard[kind] - counted) <= report.tolerance(kind), (kind, report.dashboard[kind], counted)
    assert abs(report.inserts_panel - runs) <= report.tolerance("run"), (report.inserts_panel, runs)
    assert report.error_ratio == 0
