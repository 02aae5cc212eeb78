"""bench.profile: py-spy samples of blocked threads are not CPU, and telemetry cost is charged to its call site."""

from __future__ import annotations

from pathlib import Path

from bench.profile import call_site, is_idle, summarize

LOOP = "run (uvicorn/server.py:10);BaseEventLoop._run_once (/usr/lib/python3.11/asyncio/base_events.py:1884)"
EPOLL = f"{LOOP};EpollSelector.select (/usr/lib/python3.11/selectors.py:468)"
RELAY_WAIT = (
    "Thread.run (/usr/lib/python3.11/threading.py:982);SpanRelay._run (/app/telemetry/span_relay.py:178);"
    "Event.wait (/usr/lib/python3.11/threading.py:629);Condition.wait (/usr/lib/python3.11/threading.py:331)"
)
RELAY_WORK = (
    "Thread.run (/usr/lib/python3.11/threading.py:982);SpanRelay._run (/app/telemetry/span_relay.py:182);"
    "SpanRelay._drain (/app/telemetry/span_relay.py:203)"
)
HANDLER = f"{LOOP};execute (/app/service/runs/service.py:154)"
ENSURE = f"{HANDLER};Telemetry.ensure_version (/app/telemetry/port.py:325);Telemetry.span (/app/telemetry/port.py:367)"
APP = f"{HANDLER};render (/app/service/templates/render.py:12)"


def test_blocked_threads_are_idle_and_working_ones_are_not() -> None:
    assert is_idle(EPOLL) and is_idle(RELAY_WAIT)
    assert not is_idle(RELAY_WORK) and not is_idle(ENSURE) and not is_idle(APP)


def test_idle_samples_are_left_out_and_telemetry_is_charged_per_call_site(tmp_path: Path) -> None:
    collapsed = tmp_path / "stacks.txt"
    collapsed.write_text(f"{EPOLL} 50\n{RELAY_WAIT} 30\n{RELAY_WORK} 4\n{ENSURE} 6\n{APP} 90\n")
    total, shares, sites = summarize(collapsed)
    assert total == 100
    assert shares["span export thread (span relay, or BatchSpanProcessor: OTLP encode + POST)"] == 4
    assert (
        call_site(ENSURE)
        == "execute (runs/service.py:154) -> Telemetry.ensure_version (telemetry/port.py:325) -> Telemetry.span"
    )
    assert sites[call_site(ENSURE)] == 6 and call_site(APP) is None
