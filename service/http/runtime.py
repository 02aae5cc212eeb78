"""How a request reaches what its app instance owns: service/app.py's `Runtime` (settings, sessions, providers, the
probe, telemetry), kept on the app's state. The noun packages' dependencies read it here; typed loosely on purpose,
since the Runtime names every package and importing it from below would close an import cycle."""

from __future__ import annotations

from typing import Any

from litestar import Request


def runtime_of(request: Request[Any, Any, Any]) -> Any:
    return request.app.state.runtime
