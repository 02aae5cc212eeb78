"""The full app pointed at the local wire server, with everything it emits captured: responses, logs, spans, metrics.

`ObservedApp.assert_secret_nowhere()` greps all of it for the API key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from litestar.testing import TestClient
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from telemetry.json_logs import JsonFormatter
from tests.integration.providers.wire_server import SECRET

TEMPLATE = {"org_id": "acme", "workspace_id": "support", "name": "greet", "body": "Hello {{ name }} from {{ team }}!"}
VARIABLES = {"name": "Ada", "team": "Prompter"}


@dataclass
class ObservedApp:
    client: TestClient
    exporter: InMemorySpanExporter
    logs: LogCollector
    responses: list[Any] = field(default_factory=list)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        response = self.client.post(path, json=body)
        self.responses.append(response)
        return response

    def get(self, path: str) -> Any:
        response = self.client.get(path)
        self.responses.append(response)
        return response

    def template(self) -> int:
        created = self.post("/api/prompt-templates", TEMPLATE)
        assert created.status_code == 201, created.text
        return created.json()["id"]

    def spans(self) -> tuple[ReadableSpan, ...]:
        return self.exporter.get_finished_spans()

    def metric(self, name: str, **labels: str) -> float:
        """Sum of the samples named `name` whose labels include `labels` (service/env need not be given)."""
        text = self.get("/metrics").text
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
        )

    def assert_secret_nowhere(self) -> None:
        for response in self.responses:
            assert SECRET not in response.text
            assert SECRET not in str(dict(response.headers))
        assert SECRET not in self.client.get("/metrics").text
        for span in self.spans():
            assert SECRET not in span.to_json(), span.name
        assert self.logs.records, "no log record was captured: the log check would prove nothing"
        assert SECRET not in self.logs.text


class LogCollector(logging.Handler):
    """Every log record emitted while installed, from the root logger and from `prompter` (which does not propagate),
    at DEBUG, so a key leaked by any logger at any level is seen. (caplog cannot do this across test phases.)"""

    _LOGGERS = ("", "prompter")

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self._levels: dict[str, int] = {}
        self._json = JsonFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def install(self) -> LogCollector:
        for name in self._LOGGERS:
            logger = logging.getLogger(name)
            self._levels.setdefault(name, logger.level)
            logger.setLevel(logging.DEBUG)
            logger.addHandler(self)
        return self

    def uninstall(self) -> None:
        for name in self._LOGGERS:
            logger = logging.getLogger(name)
            logger.removeHandler(self)
            logger.setLevel(self._levels.get(name, logging.NOTSET))

    @property
    def text(self) -> str:
        return "\n".join(self._json.format(record) + repr(vars(record)) for record in self.records)
