"""Webhook delivery across `prompter serve` replicas on one database (PostgreSQL, and one SQLite file): they share
the deliveries (FOR UPDATE SKIP LOCKED on PostgreSQL, SQLite's write lock) without sending any twice, each prompt's
events in order; and a replica killed (SIGKILL) in the middle of a delivery loses nothing - its lease expires and
another replica delivers the event."""

from __future__ import annotations

import signal
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support import processes
from tests.support.ports import free_port
from tests.support.replicas import Replica, migrate
from tests.support.webhook_receiver import WebhookReceiver, wait_until

TENANT = {"org_id": "acme", "workspace_id": "shop"}
pytestmark = pytest.mark.slow


def replica_env(db_url: str) -> dict[str, str]:
    return processes.clean_env(
        DB_URL=db_url,
        PROMPTER_DB_AUTO_MIGRATE="false",
        PROMPTER_DB_POOL_SIZE=4,
        PROMPTER_LOG_LEVEL="WARNING",
        PROMPTER_WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
        PROMPTER_WEBHOOK_POLL_S="0.05",
        PROMPTER_WEBHOOK_RETRY_BASE_S="0.05",
        PROMPTER_WEBHOOK_RETRY_MAX_S="0.2",
        # The lease of a claimed delivery is this plus a margin: what another replica waits for a dead one.
        PROMPTER_WEBHOOK_TIMEOUT_S="1",
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    # SQLite: two processes on one file, taking turns at its write lock (what a claim needs there).
    return f"sqlite:///{tmp_path}/prompter.db" if request.param == "sqlite" else request.getfixturevalue("pg_url")


@pytest.fixture
def replicas(db_url: str, tmp_path: Path) -> Iterator[tuple[Replica, Replica]]:
    env = replica_env(db_url)
    migrate(env, tmp_path / "migrate.log")
    pair = (Replica("a", free_port(), env, tmp_path), Replica("b", free_port(), env, tmp_path))
    try:
        yield pair
    finally:
        for replica in pair:
            replica.stop()


def post(base: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{base}{path}", json=body, timeout=30)
    assert response.status_code in (200, 201), response.text
    return response.json()


def setup_prompts(base: str, receiver: WebhookReceiver, prompts: int) -> tuple[str, dict[str, list[int]]]:
    secret = post(base, "/api/webhooks", {"url": receiver.url, "event_types": ["label.moved"], **TENANT})["secret"]
    plan: dict[str, list[int]] = {}
    for p in range(prompts):
        template = post(base, "/api/prompt-templates", {"name": f"p{p}", "body": f"P{p} {{{{ x }}}}", **TENANT})
        plan[f"p{p}"] = [
            post(
                base,
                f"/api/prompt-templates/{template['id']}/ensure-version",
                {"provider": "openai", "model_id": "gpt-4o", "params": {"temperature": t / 10}},
            )["id"]
            for t in range(2)
        ]
    return secret, plan


def move(base: str, name: str, version_id: int) -> None:
    response = httpx.put(
        f"{base}/api/prompts/{name}/labels/production", json={"version_id": version_id, **TENANT}, timeout=30
    )
    assert response.status_code == 200, response.text


def successes(base: str) -> float:
    text = httpx.get(f"{base}/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "prompter_webhook_deliveries_total" and sample.labels.get("outcome") == "success"
    )


def in_order(receiver: WebhookReceiver, secret: str) -> dict[str, list[int]]:
    by_prompt: dict[str, list[int]] = defaultdict(list)
    for payload in receiver.verified(secret):
        by_prompt[payload["data"]["prompt"]].append(payload["data"]["to_version_id"])
    return dict(by_prompt)


def test_two_replicas_share_the_deliveries_and_send_none_twice(replicas: tuple[Replica, Replica]) -> None:
    a, b = replicas
    for replica in (a, b):
        replica.spawn()
    for replica in (a, b):
        replica.wait_ready()
    with WebhookReceiver() as receiver:
        secret, plan = setup_prompts(a.url, receiver, prompts=4)
        moves = 15
        for i in range(moves):
            for n, name in enumerate(plan):
                move((a, b)[(i + n) % 2].url, name, plan[name][i % 2])  # each prompt's moves through both replicas
        total = moves * len(plan)
        wait_until(lambda: len(receiver.events()) >= total, f"{total} events", timeout_s=120)
        ids = [item.event_id for item in receiver.events()]
        assert len(ids) == len(set(ids)) == total
        assert in_order(receiver, secret) == {name: [plan[name][i % 2] for i in range(moves)] for name in plan}
        shares = (successes(a.url), successes(b.url))
        assert sum(shares) == total and min(shares) > 0, shares


def test_a_replica_killed_during_a_delivery_loses_nothing(replicas: tuple[Replica, Replica]) -> None:
    a, b = replicas
    a.spawn().wait_ready()
    with WebhookReceiver() as receiver:
        receiver.hang, receiver.drop_hung = True, True
        secret, plan = setup_prompts(a.url, receiver, prompts=1)
        versions = plan["p0"]
        for i in range(5):
            move(a.url, "p0", versions[i % 2])
        wait_until(lambda: receiver.hung >= 1, "replica a's delivery in flight")
        assert a.process is not None
        a.process.send_signal(signal.SIGKILL)  # mid-delivery: no shutdown, no outcome recorded
        a.process.wait(timeout=10)
        receiver.release()

        b.spawn().wait_ready()
        wait_until(lambda: len(receiver.events()) >= 5, "replica b delivers everything", timeout_s=60)
        assert in_order(receiver, secret) == {"p0": [versions[i % 2] for i in range(5)]}
        ids = [item.event_id for item in receiver.events()]
        assert len(ids) == len(set(ids)) == 5
        assert successes(b.url) == 5
