"""Webhook reliability on SQLite and PostgreSQL with real HTTP receivers: an endpoint failing for its window is
disabled (itself an event) and, enabled again, gets what was pending; a hanging receiver holds up no label move; 1 000
label moves are 1 000 events with no duplicate id, each prompt's in order; and the receiver's trace joins the change's
(traceparent)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from litestar.testing import TestClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from service.app import create_app
from service.providers import ProviderRegistry
from service.settings import Settings
from tests.e2e.labels_support import TENANT, create_template, in_process_api, pin
from tests.e2e.webhooks.test_delivery import FAST, create_endpoint, move
from tests.support.webhook_receiver import WebhookReceiver, wait_until


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, migrated_sqlite_url: str) -> str:
    return migrated_sqlite_url if request.param == "sqlite" else request.getfixturevalue("migrated_pg_url")


@pytest.fixture
def receivers() -> Iterator[tuple[WebhookReceiver, WebhookReceiver]]:
    with WebhookReceiver() as first, WebhookReceiver() as second:
        yield first, second


def metric(client: httpx.Client, name: str, **labels: str) -> float:
    text = client.get("/metrics").text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def test_an_endpoint_failing_for_its_window_is_disabled_and_that_is_an_event(
    db_url: str, receivers: tuple[WebhookReceiver, WebhookReceiver]
) -> None:
    failing, watcher = receivers
    failing.status = 500
    with in_process_api(db_url, **{**FAST, "webhook_disable_after_s": 0.5}) as api:
        created = create_endpoint(api, failing.url)
        broken, broken_secret = created["endpoint"], created["secret"]
        watch = create_endpoint(api, watcher.url, event_types=["webhook_endpoint.disabled"])
        template = create_template(api, "greet", "Hello {{ who }}", **TENANT)
        move(api, "greet", "production", pin(api, template["id"])["id"])

        wait_until(lambda: len(watcher.events()) == 1, "the webhook_endpoint.disabled event")
        (disabled,) = watcher.verified(watch["secret"])
        assert disabled["type"] == "webhook_endpoint.disabled"
        assert disabled["data"]["endpoint_id"] == broken["id"] and disabled["data"]["last_error"] == "HTTP 500"
        state = api.get(f"/api/webhooks/{broken['id']}", params=TENANT).json()
        assert state["enabled"] is False and state["disabled_at"] and state["failing_since"]
        attempts = failing.refused_while_failing
        assert attempts >= 2
        log = api.get(f"/api/webhooks/{broken['id']}/deliveries", params=TENANT).json()["items"]
        assert {d["status"] for d in log} == {"pending"}
        # The prompt's first event kept failing; the ones after it wait their turn (order per prompt).
        oldest, *later = reversed(log)
        assert oldest["response_code"] == 500 and oldest["attempts"] >= 2 and oldest["error"] == "HTTP 500"
        assert all(d["attempts"] == 0 for d in later)
        assert metric(api, "prompter_webhook_deliveries_total", outcome="http_error") >= 2
        # A disabled endpoint's backlog is not lag: nothing is trying to deliver it.
        wait_until(lambda: metric(api, "prompter_webhook_outbox_lag_seconds") == 0, "no outbox lag")
        # Disabled: no more attempts, and an event fanned out meanwhile is not addressed to it (a second endpoint on
        # the watcher's receiver shows when the staging move has been fanned out).
        create_endpoint(api, watcher.url, event_types=["label.moved"])
        move(api, "greet", "staging", pin(api, template["id"], temperature=0.5)["id"])
        wait_until(lambda: len(watcher.events()) == 2, "the staging move, fanned out and delivered to the watcher")
        assert failing.refused_while_failing <= attempts + 1  # at most the attempt already in flight

        # The receiver works again: enabling the endpoint (same secret) sends what was pending, in order, and nothing
        # written while it was disabled.
        failing.status = 204
        enabled = api.post(f"/api/webhooks/{broken['id']}/enable", params=TENANT)
        assert enabled.status_code == 200, enabled.text
        assert enabled.json()["enabled"] is True and enabled.json()["disabled_at"] is None
        assert enabled.json()["failing_since"] is None
        pending = [d["event_id"] for d in reversed(log)]
        wait_until(lambda: len(failing.events()) == len(pending), "the pending deliveries, once enabled")
        assert [item.headers["webhook-id"] for item in failing.events()] == pending
        assert len(failing.verified(broken_secret)) == len(pending)
        again = api.post(f"/api/webhooks/{broken['id']}/enable", params=TENANT)
        assert (
            again.status_code == 200 and again.json() == api.get(f"/api/webhooks/{broken['id']}", params=TENANT).json()
        )
        move(api, "greet", "production", pin(api, template["id"], temperature=0.7)["id"])
        wait_until(lambda: len(failing.events()) > len(pending), "a new event to the enabled endpoint")
        assert all(item.headers["webhook-id"] not in pending for item in failing.events()[len(pending) :])


def test_events_past_their_retention_go_once_no_delivery_of_them_is_pending(
    db_url: str, receivers: tuple[WebhookReceiver, WebhookReceiver]
) -> None:
    healthy, failing = receivers
    failing.status = 500
    settings = {**FAST, "webhook_retention_s": 0.5, "webhook_retry_base_s": 60.0, "webhook_retry_max_s": 60.0}
    with in_process_api(db_url, **settings) as api:
        created = create_endpoint(api, healthy.url)
        ok, secret = created["endpoint"], created["secret"]
        stuck = create_endpoint(api, failing.url, event_types=["label.moved"])["endpoint"]
        template = create_template(api, "greet", "Hello {{ who }}", **TENANT)
        move(api, "greet", "production", pin(api, template["id"])["id"])
        wait_until(lambda: len(healthy.events()) == 3 and failing.refused_while_failing >= 1, "every first attempt")

        def log(endpoint: dict[str, object]) -> list[dict[str, object]]:
            return api.get(f"/api/webhooks/{endpoint['id']}/deliveries", params=TENANT).json()["items"]

        # The revision and the version are delivered everywhere they go: past the retention, they are removed. The
        # label move still waits for its retry to the failing endpoint, so it stays, for both endpoints.
        wait_until(lambda: [d["event_type"] for d in log(ok)] == ["label.moved"], "the delivered events removed")
        assert [(d["event_type"], d["status"]) for d in log(stuck)] == [("label.moved", "pending")]
        # Once nothing is owed any more (the failing endpoint deleted with its deliveries), it goes too.
        assert api.delete(f"/api/webhooks/{stuck['id']}", params=TENANT).status_code == 204
        wait_until(lambda: log(ok) == [], "the last event removed")
        assert len(healthy.events()) == 3  # each delivered once, none again
        # New events are delivered as ever, with their order per prompt intact.
        move(api, "greet", "staging", pin(api, template["id"], temperature=0.5)["id"])
        wait_until(lambda: len(healthy.events()) == 5, "the new events")
        assert [e["type"] for e in healthy.verified(secret)][-2:] == [
            "prompt.version_created",
            "label.moved",
        ]


def test_a_hanging_receiver_holds_up_no_label_move(
    db_url: str, receivers: tuple[WebhookReceiver, WebhookReceiver]
) -> None:
    hanging, healthy = receivers
    hanging.hang = True
    settings = {**FAST, "webhook_timeout_s": 0.5, "webhook_max_concurrency": 2}
    with in_process_api(db_url, **settings) as api:
        create_endpoint(api, hanging.url)
        ok = create_endpoint(api, healthy.url, event_types=["label.moved"])
        template = create_template(api, "greet", "Hello {{ who }}", **TENANT)
        versions = [pin(api, template["id"], temperature=t / 10)["id"] for t in range(2)]
        for i in range(20):
            move(api, "greet", "production", versions[i % 2])  # each answers while every delivery slot hangs
        wait_until(
            lambda: metric(api, "prompter_webhook_deliveries_total", outcome="timeout") >= 2, "timed-out attempts"
        )
        # The healthy endpoint still gets every move, in order, beside the hanging one.
        wait_until(lambda: len(healthy.events()) == 20, "the healthy receiver's 20 moves", timeout_s=60)
        assert [p["data"]["to_version_id"] for p in healthy.verified(ok["secret"])] == [
            versions[i % 2] for i in range(20)
        ]
        wait_until(lambda: metric(api, "prompter_webhook_outbox_lag_seconds") > 0, "outbox lag while it hangs")
        hanging.release()
        wait_until(lambda: len(hanging.events()) >= 23, "the hanging receiver, released, catches up", timeout_s=60)
        wait_until(lambda: metric(api, "prompter_webhook_outbox_lag_seconds") == 0, "no outbox lag", timeout_s=30)


def test_1000_label_moves_are_1000_events_without_duplicate_ids(db_url: str) -> None:
    prompts, moves_each = 10, 100
    with WebhookReceiver() as receiver, in_process_api(db_url, **{**FAST, "webhook_max_concurrency": 32}) as api:
        secret = create_endpoint(api, receiver.url, event_types=["label.moved"])["secret"]
        plan: dict[str, list[int]] = {}
        for p in range(prompts):
            template = create_template(api, f"p{p}", f"Prompt {p} {{{{ x }}}}", **TENANT)
            plan[f"p{p}"] = [pin(api, template["id"], temperature=t / 10)["id"] for t in range(2)]

        def run(name: str) -> None:
            for i in range(moves_each):
                move(api, name, "production", plan[name][i % 2])

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(run, plan))
        wait_until(lambda: len(receiver.events()) >= prompts * moves_each, "1 000 events", timeout_s=240)
        payloads = receiver.verified(secret)
        ids = [item.event_id for item in receiver.events()]
        assert len(ids) == len(set(ids)) == prompts * moves_each
        by_prompt: dict[str, list[int]] = defaultdict(list)
        for payload in payloads:
            by_prompt[payload["data"]["prompt"]].append(payload["data"]["to_version_id"])
        assert by_prompt == {name: [plan[name][i % 2] for i in range(moves_each)] for name in plan}


def test_the_receiver_gets_the_trace_context_of_the_change(migrated_sqlite_url: str) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    settings = Settings(db_url=migrated_sqlite_url, db_auto_migrate=False, **FAST)
    app = create_app(settings, providers=ProviderRegistry.fakes(), tracer_provider=provider)
    with WebhookReceiver() as receiver, TestClient(app, raise_server_exceptions=False) as api:
        create_endpoint(api, receiver.url, event_types=["label.moved"])
        template = create_template(api, "greet", "Hello {{ who }}", **TENANT)
        version = pin(api, template["id"])
        move(api, "greet", "production", version["id"])
        wait_until(lambda: len(receiver.events()) == 1, "the move")
        traceparent = receiver.events()[0].headers["traceparent"]
        _, trace_id, parent_span_id, _ = traceparent.split("-")
        wait_until(lambda: any(s.name == "prompter.webhook.deliver" for s in exporter.get_finished_spans()), "span")
    spans = exporter.get_finished_spans()
    put = next(s for s in spans if s.name.startswith("PUT /api/prompts"))
    deliver = next(s for s in spans if s.name == "prompter.webhook.deliver")
    assert format(put.context.trace_id, "032x") == trace_id  # the receiver's trace joins the label move's
    assert format(deliver.context.span_id, "016x") == parent_span_id
    assert deliver.context.trace_id == put.context.trace_id
    provider.shutdown()
