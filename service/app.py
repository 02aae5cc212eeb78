"""create_app(settings) -> Litestar: mounts each noun package's router and dependencies, the error mapping, telemetry
and the lifespan. Nothing runs at import time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.trace import TracerProvider
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service import __version__
from service.archive.dependencies import DEPENDENCIES as archive_dependencies
from service.archive.handlers import router as archive_router
from service.auth.guard import api_key_guard
from service.cache import RedisCache, RedisHealth
from service.cache.prompt_relay import PromptRelay
from service.db import engine as db
from service.db.migrate import prepare_schema
from service.diffs.dependencies import DEPENDENCIES as diff_dependencies
from service.diffs.handlers import router as diffs_router
from service.health.handlers import healthz, readyz
from service.http.dependency_order import resolve_in_sequence
from service.http.errors import EXCEPTION_HANDLERS, http_error_handler
from service.http.methods import HeadAndAllow, allowed_methods
from service.http.metrics_endpoint import metrics
from service.http.openapi_errors import document_error_responses
from service.http.openapi_exact import render_plugins
from service.http.request_limits import BoundedJSONRequest
from service.http.request_rules import check_request
from service.http.session import DEPENDENCIES as session_dependencies
from service.http.shutdown import ShutdownResponses, StoppingReadiness
from service.http.swagger_ui import swagger_assets_router
from service.http.tenant import DEPENDENCIES as tenant_dependencies
from service.http.write_slots import WriteSlots, tenant_write_slots
from service.idempotency.dependencies import DEPENDENCIES as idempotency_dependencies
from service.labels.dependencies import DEPENDENCIES as label_dependencies
from service.labels.handlers import router as labels_router
from service.mcp.feed import PromptFeed
from service.mcp.handlers import mcp_route
from service.mcp.server import McpDependencies, PromptMcpServer
from service.observations.dependencies import DEPENDENCIES as observation_dependencies
from service.observations.handlers import observation_routes
from service.providers import ProviderRegistry
from service.rollouts.dependencies import DEPENDENCIES as rollout_dependencies
from service.rollouts.handlers import router as rollouts_router
from service.rollouts.worker import RolloutWorker
from service.runs.dependencies import DEPENDENCIES as run_dependencies
from service.runs.handlers import router as runs_router
from service.settings import Settings
from service.templates.dependencies import DEPENDENCIES as template_dependencies
from service.templates.handlers import router as templates_router
from service.ui import template_config, ui_routers
from service.ui.errors import for_ui_paths
from service.versions.cache import VersionCache
from service.versions.dependencies import DEPENDENCIES as version_dependencies
from service.versions.handlers import router as versions_router
from service.versions.probe import IdentityProbe
from service.vocabulary import PROVIDERS
from service.webhooks.dependencies import DEPENDENCIES as webhook_dependencies
from service.webhooks.handlers import router as webhooks_router
from service.webhooks.worker import DeliveryWorker
from telemetry import Telemetry, TelemetryHandle, setup_telemetry
from telemetry.events import publisher
from telemetry.http import HTTPTelemetryMiddleware
from telemetry.json_logs import configure_logging


@dataclass(slots=True)
class Runtime:
    """Everything one app instance owns; built in create_app, closed by the lifespan."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    read_sessions: async_sessionmaker[AsyncSession]
    write_queue: db.WriteQueue | None
    telemetry_handle: TelemetryHandle
    providers: ProviderRegistry
    probe: IdentityProbe
    redis_health: RedisHealth
    # PostgreSQL: a bounded share of the pool per workspace for writes (SQLite's writers wait in the writer queue).
    write_slots: WriteSlots | None = None
    # The MCP sessions' change feed: committed PromptListChanged events reach the sessions of their workspace.
    prompt_feed: PromptFeed = field(default_factory=PromptFeed)
    mcp: PromptMcpServer | None = None
    # (template, pvk) -> version, immutable once committed: a run's version lookup without a statement.
    version_cache: VersionCache | None = field(default_factory=VersionCache)
    # Where the request's unit of work publishes committed domain events: telemetry (telemetry/events.py) measures
    # them, the prompt feed passes prompt list changes on to MCP sessions.
    publish: Callable[[object], None] = field(init=False)

    def __post_init__(self) -> None:
        measure = publisher(self.telemetry_handle.telemetry)
        feed = self.prompt_feed

        def publish(event: object) -> None:
            measure(event)
            feed.publish(event)

        self.publish = publish

    @property
    def telemetry(self) -> Telemetry:
        return self.telemetry_handle.telemetry


log = logging.getLogger("prompter")


def create_app(
    settings: Settings,
    *,
    providers: ProviderRegistry | None = None,
    meter_provider: MeterProvider | None = None,
    tracer_provider: TracerProvider | None = None,
) -> Litestar:
    configure_logging(settings.telemetry.log_level)
    handle = setup_telemetry(
        settings.telemetry.config(providers=frozenset(PROVIDERS)),
        meter_provider=meter_provider,
        tracer_provider=tracer_provider,
    )
    engine = db.create_engine(settings)
    handle.instrument_engine(engine)
    providers = providers or ProviderRegistry.from_settings(settings, handle)
    runtime = Runtime(
        settings=settings,
        engine=engine,
        sessions=db.session_factory(engine),
        read_sessions=db.read_session_factory(engine),
        write_queue=db.write_queue(engine, settings),
        telemetry_handle=handle,
        providers=providers,
        probe=IdentityProbe(providers, handle.telemetry),
        redis_health=RedisHealth(handle.telemetry, configured=bool(settings.redis.url)),
    )
    if runtime.write_queue is None:
        runtime.write_slots = tenant_write_slots(settings)
    if settings.mcp.enabled:
        runtime.mcp = PromptMcpServer(
            McpDependencies(settings, handle.telemetry, runtime.read_sessions, runtime.prompt_feed)
        )

    app = Litestar(
        route_handlers=[
            templates_router,
            versions_router,
            runs_router,
            labels_router,
            archive_router,
            rollouts_router,
            diffs_router,
            webhooks_router,
            *observation_routes(settings),
            healthz,
            readyz,
            metrics,
            swagger_assets_router(),
            *ui_routers(settings, handle.telemetry),
            *([mcp_route(runtime.mcp)] if runtime.mcp is not None else []),
        ],
        template_config=template_config(settings),
        dependencies=_dependencies(runtime),
        exception_handlers={**EXCEPTION_HANDLERS, **for_ui_paths(http_error_handler)},
        guards=[api_key_guard],
        before_request=check_request,
        lifespan=[_lifespan(runtime)],
        request_max_body_size=settings.limits.max_body_bytes,
        request_class=BoundedJSONRequest,
        openapi_config=OpenAPIConfig(
            title="Prompter", version=__version__, path="/schema", render_plugins=render_plugins()
        ),
        debug=False,
        # Our own JSON logging (telemetry/json_logs.py); Litestar's default would add a plain-text root handler.
        logging_config=None,
    )
    app.state.runtime = runtime
    document_error_responses(app)
    resolve_in_sequence(app)  # no task group per request for the services a handler needs
    # Outermost wrapper: sees every request (404/405 included) after routing has filled in the route template.
    routed = HeadAndAllow(app.asgi_handler, allowed_methods(app))
    # Cut requests are measured as the 503 they answer; a stopping replica's readiness answer is not a request error.
    # Litestar types asgi_handler with its TypedDict scopes; the middleware takes any ASGI scope (a plain dict).
    measured = HTTPTelemetryMiddleware(ShutdownResponses(routed), handle.telemetry, tracing=handle.tracing)  # type: ignore[arg-type]
    app.asgi_handler = StoppingReadiness(measured)  # type: ignore[arg-type]
    return app


def _dependencies(runtime: Runtime) -> dict[str, Provide]:
    """Each noun package provides its own services (its dependencies.py); the app adds what it owns itself."""

    def constant(value: Any) -> Provide:
        return Provide(lambda: value, use_cache=True, sync_to_thread=False)

    return {
        **session_dependencies,
        **tenant_dependencies,
        **idempotency_dependencies,
        **template_dependencies,
        **version_dependencies,
        **run_dependencies,
        **archive_dependencies,
        **label_dependencies,
        **rollout_dependencies,
        **diff_dependencies,
        **observation_dependencies,
        **webhook_dependencies,
        "settings": constant(runtime.settings),
        "db_engine": constant(runtime.engine),
        "redis_health": constant(runtime.redis_health),
        "metrics_registry": constant(runtime.telemetry_handle.registry),
        "metrics_text": constant(runtime.telemetry_handle.prometheus_text),
    }


def _lifespan(runtime: Runtime) -> Any:
    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await prepare_schema(runtime.settings, runtime.engine)  # migrate, or refuse a schema that is behind
        if not runtime.settings.auth.required:
            log.warning(
                "PROMPTER_AUTH is off: the API is open to anyone who can reach it and tenants are not isolated. "
                "Set PROMPTER_AUTH=required and create keys with `prompter keys create` outside local development."
            )
        runtime.redis_health.mark(False)
        redis = RedisCache.from_settings(runtime.settings, runtime.redis_health, runtime.telemetry)
        if redis is None:
            log.info("REDIS_URL not set: probe cache disabled, prompter_redis_up=0")
        else:
            runtime.telemetry_handle.instrument_redis(redis.client)
            await redis.start()  # one PING sets prompter_redis_up now, then a background check every interval
            runtime.probe.cache = redis.probe_cache
        rollouts = RolloutWorker(
            runtime.sessions,
            runtime.write_queue,
            runtime.telemetry,
            runtime.publish,
            protected=runtime.settings.auth.protected_label_set,
            tick_s=runtime.settings.rollouts.tick_s,
        )
        rollouts.start()  # every replica runs one; one at a time acts (service/rollouts/worker.py)
        webhooks = _start_webhook_worker(runtime)
        relay = None
        if redis is not None and runtime.mcp is not None:  # MCP sessions hear the other replicas' changes too
            relay = PromptRelay(redis.client, runtime.prompt_feed.deliver)
            relay.start()
            runtime.prompt_feed.relay = relay.publish
        try:
            if runtime.mcp is None:
                yield
            else:
                # The MCP sessions end first (the SDK cancels their tasks), while the database is still there. Not
                # bounded like the steps below: the SDK's task group must be left in the task that entered it.
                async with runtime.mcp.running():
                    yield
        finally:
            await _bounded("rollout worker stop", rollouts.stop(), runtime.settings.limits.shutdown_step_timeout_s)
            # Each step is bounded: one that hangs (a Redis that stopped answering, a provider socket, a collector)
            # is logged and skipped, so the process still exits. Telemetry last, so the others' spans are flushed.
            limit = runtime.settings.limits.shutdown_step_timeout_s
            if webhooks is not None:
                worker, worker_engine = webhooks
                await _bounded("webhook worker stop", worker.stop(grace_s=limit / 2), limit)
                await _bounded("webhook worker pool dispose", worker_engine.dispose(), limit)
            if relay is not None:
                runtime.prompt_feed.relay = None
                await _bounded("MCP prompt relay close", relay.aclose(), limit)
            if redis is not None:
                runtime.probe.cache = None
                await _bounded("Redis client close", redis.aclose(), limit)
            await _bounded("LLM provider clients close", runtime.providers.aclose(), limit)
            await _bounded("database pool dispose", runtime.engine.dispose(), limit)
            await _bounded("telemetry flush and shutdown", _in_daemon_thread(runtime.telemetry_handle.shutdown), limit)

    return lifespan


def _start_webhook_worker(runtime: Runtime) -> tuple[DeliveryWorker, AsyncEngine] | None:
    """The delivery worker, on its own connection pool (a burst of deliveries never takes a request's connection);
    on SQLite its writes queue in the app's writer queue like every other write."""
    if runtime.settings.webhooks.worker != "on":
        return None
    engine = db.create_engine(runtime.settings)
    worker = DeliveryWorker(
        db.session_factory(engine),
        db.read_session_factory(engine),
        runtime.settings.webhooks,
        runtime.telemetry,
        write_queue=runtime.write_queue,
    )
    worker.start()
    return worker, engine


async def _bounded(step: str, work: Awaitable[Any], limit_s: float) -> None:
    # asyncio.wait, not wait_for: wait_for waits for the cancelled work to unwind, which a truly stuck step never does.
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=limit_s)
    if not done:
        task.cancel()
        log.error("shutdown step did not finish within %.1f s and was abandoned: %s", limit_s, step)
    elif (error := task.exception()) is not None:
        log.error("shutdown step failed: %s (%s: %s)", step, type(error).__name__, error)


def _in_daemon_thread(blocking: Callable[[], None]) -> asyncio.Future[None]:
    """Run a blocking call where a hang cannot keep the process alive (a daemon thread is not joined at exit)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[None] = loop.create_future()

    def settle(error: BaseException | None) -> None:
        if future.done():
            return
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)

    def run() -> None:
        error: BaseException | None = None
        try:
            blocking()
        except Exception as exc:  # noqa: BLE001 - handed to the awaiting step, which logs it
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop may be closed if the step was abandoned long ago
            loop.call_soon_threadsafe(settle, error)

    threading.Thread(target=run, name="prompter-shutdown", daemon=True).start()
    return future
