"""Whether this process is stopping: set by `prompter serve` when SIGTERM arrives, read by /readyz and by the HTTP
layer (service/http/shutdown.py).

A process-wide flag on purpose: it is the process that is being stopped, whatever app instance it serves. Long-lived
responses that would otherwise hold the shutdown until PROMPTER_SHUTDOWN_DRAIN_S is over (the MCP sessions' standing
streams) register `on_begin` to be ended as soon as it starts.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("prompter")

_draining = threading.Event()
_listeners: dict[object, Callable[[], None]] = {}
_lock = threading.Lock()


def begin() -> None:
    _draining.set()
    with _lock:
        listeners = list(_listeners.values())
    for listener in listeners:
        try:
            listener()
        except Exception:  # noqa: BLE001 - stopping goes on whatever a listener does
            log.exception("a draining listener failed")


def active() -> bool:
    return _draining.is_set()


def on_begin(listener: Callable[[], None]) -> Callable[[], None]:
    """Call `listener` when draining begins (from the thread that calls `begin`, e.g. a signal handler: it must be
    thread-safe and quick). Returns the idempotent unregister."""
    token = object()
    with _lock:
        _listeners[token] = listener

    def unregister() -> None:
        with _lock:
            _listeners.pop(token, None)

    return unregister


def reset() -> None:
    """For tests that stop a server in-process and then start another one."""
    _draining.clear()
