"""SQL statement spans at a fraction of the stock instrumentor's cost: the same spans, names and attributes.

opentelemetry-instrumentation-sqlalchemy's EngineTracer rebuilds the connection attributes from the engine URL (and the
cursor), parses the operation name out of the statement and copies the attributes onto the span one by one, for every
statement - and does all that before it asks whether the span records, so a sampled-out request pays it too. Its pool
listeners also keep a connection-usage metric (outside the contract, given a no-op meter here).

`StatementTracer` is that EngineTracer with three changes: nothing at all happens unless the current span records (a
statement outside a recorded request or domain step gets no span, as with ChildSpansOnlyTracer); a statement's span name
and attributes are computed once per engine and statement text by the instrumentor's own code and then reused; the pool
listeners are not registered. And when spans go to the span relay, a statement's span skips the SDK's span object
altogether (telemetry/relayed_spans.py).
"""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.sqlalchemy.engine import (
    EngineTracer,
    _get_attributes_from_cursor_or_conn,
    _get_attributes_from_url,
    _get_db_name_from_cursor_or_conn,
)
from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from telemetry.relayed_spans import StatementSpans

CLIENT = trace.SpanKind.CLIENT
POOL_EVENTS = frozenset({"connect", "close", "checkin", "checkout"})
MAX_STATEMENTS = 2048  # distinct statement texts kept per engine (SQLAlchemy's compiled cache holds ~500 by default)


class _Attributes:
    """Stands in for a span to collect what EngineTracer._set_db_client_span_attributes would set on it."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def set_attribute(self, key: str, value: Any) -> None:
        self.values[key] = value


class StatementTracer(EngineTracer):
    def __init__(self, *args: Any, relayed: StatementSpans | None = None, **kwargs: Any) -> None:
        """`relayed`: make the spans straight into the span relay's queue (telemetry/relayed_spans.py)."""
        self._statements: dict[Any, tuple[str, dict[str, Any], Any]] = {}
        self._connection: tuple[dict[str, Any], Any] | None = None
        self._relayed = relayed
        super().__init__(*args, **kwargs)

    def _before_cur_exec(self, conn: Any, cursor: Any, statement: Any, params: Any, context: Any, _many: Any) -> Any:
        parent = trace.get_current_span()
        if not parent.is_recording() or not is_instrumentation_enabled():
            return statement, params
        entry = self._statements.get(statement)
        if entry is None:
            entry = self._describe(conn, cursor, statement)
        name, attributes, prepared = entry
        if prepared is not None:
            context._otel_span = self._relayed.start(name, prepared, parent.get_span_context())  # type: ignore[union-attr]
        else:
            context._otel_span = self.tracer.start_span(name, kind=CLIENT, attributes=attributes)
        return statement, params

    def _describe(self, conn: Any, cursor: Any, statement: Any) -> tuple[str, dict[str, Any], Any]:
        if self._connection is None:  # the same for every statement of this engine
            attrs, found = _get_attributes_from_url(
                conn.engine.url, self._sem_conv_opt_in_mode_db, self._sem_conv_opt_in_mode_http
            )
            if not found:
                attrs = _get_attributes_from_cursor_or_conn(
                    self.vendor, conn, cursor, attrs, self._sem_conv_opt_in_mode_db, self._sem_conv_opt_in_mode_http
                )
            self._connection = attrs, _get_db_name_from_cursor_or_conn(self.vendor, conn, cursor)
        attrs, db_name = self._connection
        collected = _Attributes()
        self._set_db_client_span_attributes(collected, statement, db_name, attrs)
        prepared = self._relayed.prepare(collected.values) if self._relayed is not None else None
        entry = self._operation_name(db_name, statement), collected.values, prepared
        if len(self._statements) >= MAX_STATEMENTS:
            self._statements.clear()
        if isinstance(statement, str):
            self._statements[statement] = entry
        return entry

    @classmethod
    def _register_event_listener(cls, target: Any, identifier: str, func: Any, *args: Any, **kwargs: Any) -> None:
        # The pool listeners only keep the connection-usage metric, which is not part of Prompter's contract; a pool
        # with listeners runs SQLAlchemy's event dispatch on every checkout and checkin (~250 calls per request).
        if identifier in POOL_EVENTS:
            return
        super()._register_event_listener(target, identifier, func, *args, **kwargs)
