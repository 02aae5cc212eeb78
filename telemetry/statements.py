"""SQL statement spans at a fraction of the stock instrumentor's cost: the same spans, names and attributes.

opentelemetry-instrumentation-sqlalchemy's EngineTracer rebuilds the connection attributes from the engine URL (and the
cursor), parses the operation name out of the statement and copies the attributes onto the span one by one, for every
statement - and does all that before it asks whether the span records, so a sampled-out request pays it too. Its pool
listeners also keep a connection-usage metric (outside the contract, given a no-op meter here).

`StatementTracer` is that EngineTracer with four changes: nothing at all happens unless the current span records (a
statement outside a recorded request or domain step gets no span, as with ChildSpansOnlyTracer); a statement's span name
and attributes are computed once per engine and statement text by the instrumentor's own code and then reused; the pool
listeners are not registered; and the span wraps the dialect's execute (SQLAlchemy's `do_execute` dialect events)
instead of hanging on the engine's cursor and error events. An engine with any connection event listener makes every
connection run SQLAlchemy's event dispatch at each of its event points (begin, commit, rollback, before and after
execute, ...) for every request, traced or not: about 250 Python calls a run on PostgreSQL. Dialect events are checked
only where a statement is executed. And when spans go to the span relay, a statement's span skips the SDK's span object
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
from opentelemetry.trace import Status, StatusCode
from sqlalchemy import event

from telemetry.relayed_spans import StatementSpans

CLIENT = trace.SpanKind.CLIENT
POOL_EVENTS = frozenset({"connect", "close", "checkin", "checkout"})
CURSOR_EVENTS = frozenset({"before_cursor_execute", "after_cursor_execute", "handle_error"})  # replaced: see above
MAX_STATEMENTS = 2048  # distinct statement texts kept per engine (SQLAlchemy's compiled cache holds ~500 by default)


class _Attributes:
    """Stands in for a span to collect what EngineTracer._set_db_client_span_attributes would set on it."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def set_attribute(self, key: str, value: Any) -> None:
        self.values[key] = value


class StatementTracer(EngineTracer):
    def __init__(
        self, tracer: Any, engine: Any, connections_usage: Any, *, relayed: StatementSpans | None = None
    ) -> None:
        """`relayed`: make the spans straight into the span relay's queue (telemetry/relayed_spans.py)."""
        self._statements: dict[Any, tuple[str, dict[str, Any], Any]] = {}
        self._connection: tuple[dict[str, Any], Any] | None = None
        self._relayed = relayed
        super().__init__(tracer, engine, connections_usage)
        event.listen(engine, "do_execute", self._do_execute)
        event.listen(engine, "do_executemany", self._do_executemany)
        event.listen(engine, "do_execute_no_params", self._do_execute_no_params)

    def _do_execute(self, cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
        return self._traced(cursor, statement, context, context.dialect.do_execute, parameters, context)

    def _do_executemany(self, cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
        return self._traced(cursor, statement, context, context.dialect.do_executemany, parameters, context)

    def _do_execute_no_params(self, cursor: Any, statement: str, context: Any) -> bool:
        return self._traced(cursor, statement, context, context.dialect.do_execute_no_params, context)

    def _traced(self, cursor: Any, statement: str, context: Any, execute: Any, *rest: Any) -> bool:
        """Runs the dialect's `execute(cursor, statement, *rest)` inside the statement's span and answers True (the
        statement is executed); False, without running it, when there is no span to make (SQLAlchemy runs it then).
        A failed execute marks the span as an error with the driver's message, as the instrumentor's handle_error
        listener does."""
        span = self._start(cursor, statement, context)
        if span is None:
            return False
        try:
            execute(cursor, statement, *rest)
        except BaseException as exc:
            if span.is_recording():
                span.set_status(Status(StatusCode.ERROR, str(exc)))
            span.end()
            raise
        span.end()
        return True

    def _start(self, cursor: Any, statement: str, context: Any) -> Any:
        """The statement's span, started, or None: not under a recording span, instrumentation suppressed, or a
        dialect set-up query."""
        parent = trace.get_current_span()
        if not parent.is_recording() or not is_instrumentation_enabled():
            return None
        connection = context.root_connection
        # The dialect's own set-up queries on a first connect run on a connection SQLAlchemy opens without events or
        # autobegin: the instrumentor's connection events never see them, so they get no span here either.
        if not connection._allow_autobegin:
            return None
        entry = self._statements.get(statement)
        if entry is None:
            entry = self._describe(connection, cursor, statement)
        name, attributes, prepared = entry
        if prepared is not None:
            return self._relayed.start(name, prepared, parent.get_span_context())  # type: ignore[union-attr]
        return self.tracer.start_span(name, kind=CLIENT, attributes=attributes)

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
        # with listeners runs SQLAlchemy's event dispatch on every checkout and checkin (~250 calls per request). The
        # cursor and error listeners are replaced by the dialect events registered in __init__.
        if identifier in POOL_EVENTS or identifier in CURSOR_EVENTS:
            return
        super()._register_event_listener(target, identifier, func, *args, **kwargs)
