"""Work the library instrumentation must not trace (a background Redis PING every few seconds would be a root span of
its own each time). Domain code asks for `untraced()`; how instrumentation is suppressed stays in telemetry/."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry.instrumentation.utils import suppress_instrumentation


@contextmanager
def untraced() -> Iterator[None]:
    with suppress_instrumentation():
        yield
