"""Whether this process is stopping: set by `prompter serve` when SIGTERM arrives, read by /readyz and by the HTTP
layer (service/http/shutdown.py).

A process-wide flag on purpose: it is the process that is being stopped, whatever app instance it serves.
"""

from __future__ import annotations

import threading

_draining = threading.Event()


def begin() -> None:
    _draining.set()


def active() -> bool:
    return _draining.is_set()


def reset() -> None:
    """For tests that stop a server in-process and then start another one."""
    _draining.clear()
