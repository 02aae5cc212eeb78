"""The multi-replica proof: N `prompter serve` replicas sharing one PostgreSQL database and one Redis, behind HAProxy,
scraped by Prometheus, under a bounded load of runs and creates while one replica is SIGTERM'd and restarted.

`run_proof(...)` does it and returns the numbers; tests/deploy/test_multi_replica.py asserts on them and
`scripts/multi-replica-proof` prints them. The LLM is a local OpenAI-compatible server (tests/integration/providers/
wire_server.py) answering after a short delay, so runs are in flight when the SIGTERM lands and every provider call
is counted. Every process is stopped on the way out, whatever happened.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import httpx

from service.cli.dashboard_check import load_dashboard, panel_exprs, substitute_template_vars
from tests.integration.providers.wire_server import Reply, WireServer, openai_chat
from tests.support import processes
from tests.support.haproxy import HAProxy
from tests.support.load import RUN_MODEL, Answer, LoadDriver
from tests.support.multi_replica_report import ProofConfig, ProofReport, verdict
from tests.support.ports import free_port
from tests.support.prometheus_server import PrometheusServer
from tests.support.replicas import Replica, migrate

REPO_ROOT = Path(__file__).resolve().parents[2]
METRICS_USER, METRICS_PASSWORD = "prometheus", "multi-replica-proof"
ROUTES = {"create": "/api/prompt-templates", "run": "/api/prompt-templates/{template_id}/run"}


def _pg_rows(pg_url: str) -> tuple[dict[str, int], dict[str, set[int]]]:
    import asyncpg

    async def read() -> tuple[dict[str, int], dict[str, set[int]]]:
        conn = await asyncpg.connect(pg_url, timeout=10)
        try:
            ids = {
                table: {r["id"] for r in await conn.fetch(f"SELECT id FROM {table}")}  # noqa: S608 - fixed names
                for table in ("prompt_templates", "prompt_results")
            }
        finally:
            await conn.close()
        return {t: len(v) for t, v in ids.items()}, ids

    return asyncio.run(read())


def _dashboard_totals(prometheus: PrometheusServer, window_s: int) -> tuple[dict[str, float], float, float | None]:
    """The dashboard's own panel queries over a window that covers the whole proof; rate x window = the total."""
    dashboard = load_dashboard(REPO_ROOT / "grafana" / "dashboards" / "prompter-rollout.json")
    exprs = dict(panel_exprs(dashboard))

    def over_window(title: str) -> str:
        return substitute_template_vars(exprs[title].replace("$__rate_interval", f"{window_s}s"))

    by_route = {
        s["metric"].get("route"): float(s["value"][1]) * window_s
        for s in prometheus.vector(over_window("Request rate by route"))
    }
    totals = {kind: by_route.get(route, 0.0) for kind, route in ROUTES.items()}
    inserts = (prometheus.value(over_window("Result inserts per second")) or 0.0) * window_s
    return totals, inserts, prometheus.value(over_window("Error ratio (5xx / all)"))


def run_proof(
    pg_url: str, redis_url: str, workdir: Path, config: ProofConfig | None = None, say: Callable[[str], None] = print
) -> ProofReport:
    config = config or ProofConfig()
    began = time.time()
    with ExitStack() as stack:
        llm = WireServer().start()
        stack.callback(llm.stop)
        llm.script(default=Reply(200, openai_chat("Hello from the load"), delay_s=config.provider_delay_s))
        env = processes.clean_env(
            DB_URL=pg_url,
            REDIS_URL=redis_url,
            PROMPTER_DB_POOL_SIZE=5,
            PROMPTER_DB_AUTO_MIGRATE="false",
            METRICS_ENV="multi-replica",
            METRICS_BASIC_AUTH_USER=METRICS_USER,
            METRICS_BASIC_AUTH_PASSWORD=METRICS_PASSWORD,
            OPENAI_API_KEY="sk-multi-replica-proof",
            OPENAI_BASE_URL=f"{llm.url}/v1",
            PROMPTER_LOG_LEVEL="WARNING",
            # As documented for a balancer that health-checks /readyz every 500 ms and takes a replica out after 3
            # failures (1.5 s): keep serving, with /readyz failing, for longer than that after SIGTERM.
            PROMPTER_SHUTDOWN_DELAY_S=3,
        )
        migrate(env, workdir / "migrate.log")
        replicas = [Replica(f"r{i}", free_port(), env, workdir) for i in range(config.replicas)]
        for replica in replicas:
            stack.callback(replica.stop)
            replica.spawn()
        for replica in replicas:
            replica.wait_ready()
        haproxy = HAProxy({r.name: r.port for r in replicas}, workdir).start()
        stack.callback(haproxy.stop)
        haproxy.wait_all_up()
        prometheus = PrometheusServer(
            [f"127.0.0.1:{r.port}" for r in replicas],
            workdir,
            scrape_interval_s=config.scrape_interval_s,
            basic_auth=(METRICS_USER, METRICS_PASSWORD),
        ).start()
        stack.callback(prometheus.stop)
        prometheus.wait_for_scrapes_after(time.time())
        say(f"{config.replicas} replicas, haproxy {haproxy.url}, prometheus {prometheus.url}, logs in {workdir}")

        with httpx.Client(base_url=haproxy.url, timeout=30) as http:
            template_ids = []
            for n in range(config.templates):
                body = {"org_id": "acme", "workspace_id": "scale", "name": f"seed-{n}", "body": "Hi {{ name }}!"}
                response = http.post("/api/prompt-templates", json=body)
                assert response.status_code == 201, response.text
                template_ids.append(response.json()["id"])
            seed = [Answer("create", 201, None, 0.0, 0.0, {"id": i}, None) for i in template_ids]
        # One run per replica, straight to it, then a scrape: every series the comparison reads exists before the
        # load. (rate() cannot count what a series held at its first scrape, so a series born under load would
        # hide up to a scrape interval of requests.)
        for replica in replicas:
            started = time.time()
            response = httpx.post(
                f"{replica.url}/api/prompt-templates/{template_ids[0]}/run",
                json={**RUN_MODEL, "variables": {"name": "warm-up"}},
                timeout=30,
            )
            assert response.status_code == 201, response.text
            seed.append(Answer("run", 201, replica.name, started, time.time(), response.json(), None))
        prometheus.wait_for_scrapes_after(time.time())

        victim = replicas[1 % len(replicas)]
        restarted_at: list[float] = []

        def victim_not_back_yet() -> bool:
            served = sum(
                1
                for a in load.snapshot()
                if a.served_by == victim.name and restarted_at and a.started > restarted_at[0]
            )
            return served < config.served_after_restart

        load = LoadDriver(
            haproxy.url,
            template_ids,
            label=f"load-{int(began)}",
            concurrency=config.concurrency,
            total=config.total,
            max_total=config.max_total,
            deadline_s=config.deadline_s,
            keep_going=victim_not_back_yet,
        )
        load_started = time.monotonic()
        load.start()
        processes.wait_until(
            lambda: load.completed() >= config.total * config.kill_at, "the first third of the load", config.deadline_s
        )
        sigterm_at = time.time()
        exit_code, drain_s = victim.sigterm()
        say(f"SIGTERM {victim.name} after {load.completed()} answers: exit {exit_code} in {drain_s:.2f}s; restarting")
        victim.spawn()
        victim.wait_ready()
        processes.wait_until(
            lambda: haproxy.status(victim.name) == "UP", f"{victim.name} UP in haproxy", 30, haproxy.log
        )
        back_up_s = time.time() - sigterm_at
        restarted_at.append(time.time())
        load.join(config.deadline_s)
        load_s = time.monotonic() - load_started

        finished = time.time()
        prometheus.wait_for_scrapes_after(finished)
        window_s = math.ceil(time.time() - began) + 5
        dashboard, inserts, error_ratio = _dashboard_totals(prometheus, window_s)
        answers = seed + load.snapshot()
        rows, ids = _pg_rows(pg_url)
        ok_ids = {
            kind: {a.body["id"] for a in answers if a.kind == kind and a.status == 201 and a.body}
            for kind in ("create", "run")
        }
        calls = Counter("probe" if r.body["messages"][0]["content"] == "ping" else "run" for r in llm.requests)
        return ProofReport(
            config=config,
            answers=answers,
            victim=victim.name,
            sigterm_at=sigterm_at,
            victim_exit_code=exit_code,
            drain_s=drain_s,
            back_up_s=back_up_s,
            load_s=load_s,
            rows=rows,
            row_ids_match={
                "create": ok_ids["create"] == ids["prompt_templates"],
                "run": ok_ids["run"] == ids["prompt_results"],
            },
            provider_calls={"run": calls["run"], "probe": calls["probe"]},
            dashboard=dashboard,
            inserts_panel=inserts,
            error_ratio=error_ratio,
            per_replica=dict(Counter(a.served_by for a in answers if a.served_by)),
            haproxy=haproxy.server_stats(),
        )


def main(argv: list[str] | None = None) -> int:
    """`scripts/multi-replica-proof`: the same proof by hand, on the machine's PostgreSQL or a throwaway cluster."""
    import argparse
    import tempfile
    import uuid

    from tests.support.postgres import ThrowawayPostgres, shared_server_url
    from tests.support.redis_server import RedisServer

    parser = argparse.ArgumentParser(prog="multi-replica-proof", description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=ProofConfig.replicas)
    parser.add_argument("--requests", type=int, default=ProofConfig.total, help="load operations (a third creates)")
    parser.add_argument("--concurrency", type=int, default=ProofConfig.concurrency)
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, configs) afterwards")
    args = parser.parse_args(argv)
    config = ProofConfig(
        replicas=args.replicas,
        total=args.requests,
        max_total=max(1500, 3 * args.requests),
        concurrency=args.concurrency,
    )

    workdir = Path(tempfile.mkdtemp(prefix="prompter-multi-replica-"))
    with ExitStack() as stack:
        server_url = shared_server_url()
        if server_url is None:
            print("no PostgreSQL on 127.0.0.1:5432 (or $PROMPTER_TEST_PG_URL): starting a throwaway cluster")
            cluster = ThrowawayPostgres().start()
            stack.callback(cluster.stop)
            server_url = cluster.url
        database = f"prompter_proof_{uuid.uuid4().hex[:8]}"
        _admin(server_url, f'CREATE DATABASE "{database}"')
        stack.callback(_admin, server_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        redis = RedisServer().start()
        stack.callback(redis.stop)
        report = run_proof(f"{server_url.rpartition('/')[0]}/{database}", redis.url, workdir, config)
    for line in report.lines():
        print(line)
    problems = verdict(report)
    print("PROOF " + ("PASSED" if not problems else "FAILED: " + "; ".join(problems)))
    if not args.keep and not problems:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if not problems else 1


def _admin(server_url: str, statement: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(server_url, timeout=10)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run())


if __name__ == "__main__":
    raise SystemExit(main())
