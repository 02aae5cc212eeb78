"""With opentelemetry-api installed, a run made inside the application's span continues that trace on the server."""

from __future__ import annotations

from pathlib import Path

import pytest
from client_live import client_options, seed
from prompter_client import Prompter

sdk_trace = pytest.importorskip("opentelemetry.sdk.trace", reason="opentelemetry-sdk (test dependency) not installed")


def test_a_run_appears_under_the_applications_trace(tmp_path: Path) -> None:
    from service.app import create_app
    from service.settings import Settings
    from tests.support.live_server import LiveServer
    from tests.support.otlp_receiver import OTLPReceiver

    tracer = sdk_trace.TracerProvider().get_tracer("the application")
    with OTLPReceiver() as receiver:
        settings = Settings(db_url=f"sqlite:///{tmp_path}/p.db", db_auto_migrate=True, otlp_endpoint=receiver.url)
        with LiveServer(create_app(settings)) as url:
            seed(url, "greet", ["Hello {{ name }}!"])
            with Prompter(**client_options(url)) as p, tracer.start_as_current_span("handle checkout") as span:
                result = p.run("greet", variables={"name": "Ada"})
                app_trace_id = f"{span.get_span_context().trace_id:032x}"
                app_span_id = f"{span.get_span_context().span_id:016x}"
        # The server flushed its spans on shutdown.
        server_spans = [s for s in receiver.spans() if s.kind == "SERVER" and "/run" in s.name]
    assert result.trace_id == app_trace_id  # the stored result points at the application's trace
    assert [(s.trace_id, s.parent_span_id) for s in server_spans] == [(app_trace_id, app_span_id)]
