"""In-memory stand-ins for what the label service talks to: its repository, the session it flushes and the telemetry
port. Enough to run every label rule without a database or a socket."""

from __future__ import annotations

import itertools
from typing import Any

from service.db.models import PromptLabel, PromptLabelEvent, PromptTemplate, PromptVersion
from service.labels.repository import Target


class FakeSession:
    def __init__(self) -> None:
        self.info: dict[str, Any] = {}
        self.flushes = 0

    async def flush(self) -> None:
        self.flushes += 1


class FakeOutbox:
    """Records the webhook events a service adds (service/webhooks/outbox.py: add_event), checking their type."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    async def __call__(self, session: Any, **event: Any) -> None:
        from service.webhooks.outbox import EVENT_TYPES

        assert event["type"] in EVENT_TYPES, event["type"]
        self.events.append(event)


class FakeTelemetry:
    """Records what the service reports; spans are no-ops."""

    def __init__(self) -> None:
        self.auth_failures: list[str] = []
        self.spans: list[tuple[str, dict[str, Any]]] = []

    def span(self, name: str, **attributes: Any) -> Any:
        self.spans.append((name, attributes))
        return _NoSpan()

    def record_auth_failure(self, reason: str) -> None:
        self.auth_failures.append(reason)


class _NoSpan:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


class FakeLabelRepository:
    """One workspace's prompts, versions, labels and the append-only event log, as the SQL repository keeps them."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.templates: dict[str, PromptTemplate] = {}
        self.versions: dict[int, PromptVersion] = {}
        self.labels: dict[tuple[str, str, str, str], PromptLabel] = {}
        self.events: list[PromptLabelEvent] = []
        self.locked: list[tuple[str, str, str, str]] = []
        self.archived: set[tuple[str, int | str]] = set()  # ("version", id), ("revision", template id), ("name", name)

    # -- test setup ------------------------------------------------------------------------------------------------
    def add_version(self, org_id: str, workspace_id: str, name: str) -> int:
        template = self.templates.get(name)
        if template is None:
            template = PromptTemplate(
                id=next(self._ids), org_id=org_id, workspace_id=workspace_id, name=name, body="b", variables=[]
            )
            template.revision, template.content_hash = 1, name
            self.templates[name] = template
        version = PromptVersion(
            id=next(self._ids), template_id=template.id, provider="openai", model_id="m", params={}, captured={}
        )
        version.pvk, version.params_hash, version.drift = f"pvk{version.id}", "p", False
        self.versions[version.id] = version
        return version.id

    def _target(self, version: PromptVersion, label: PromptLabel | None = None) -> Target:
        template = next(t for t in self.templates.values() if t.id == version.template_id)
        return Target(version, template, label, version.id, version.captured)

    # -- the repository's interface --------------------------------------------------------------------------------
    async def resolve_version(self, org_id: str, workspace_id: str, name: str, version_id: int) -> Target | None:
        version = self.versions.get(version_id)
        template = self.templates.get(name)
        if version is None or template is None or version.template_id != template.id:
            return None
        return self._target(version)

    async def resolve_label(self, org_id: str, workspace_id: str, name: str, label: str) -> Target | None:
        row = self.labels.get((org_id, workspace_id, name, label))
        return self._target(self.versions[row.version_id], row) if row is not None else None

    async def resolve_latest(self, org_id: str, workspace_id: str, name: str) -> Target | None:
        template = self.templates.get(name)
        mine = [v for v in self.versions.values() if template is not None and v.template_id == template.id]
        return self._target(max(mine, key=lambda v: v.id)) if mine else None

    async def name_exists(self, org_id: str, workspace_id: str, name: str) -> bool:
        return name in self.templates

    async def archived_part(
        self, org_id: str, workspace_id: str, name: str, template_id: int, version_id: int
    ) -> str | None:
        if version_id not in self.versions:
            return "gone"
        for part, key in (("version", version_id), ("revision", template_id), ("name", name)):
            if (part, key) in self.archived:
                return part
        return None

    async def lock_label(self, org_id: str, workspace_id: str, name: str, label: str) -> None:
        self.locked.append((org_id, workspace_id, name, label))

    async def get_label(self, org_id: str, workspace_id: str, name: str, label: str) -> PromptLabel | None:
        return self.labels.get((org_id, workspace_id, name, label))

    async def insert_label(self, label: PromptLabel) -> PromptLabel:
        label.id = next(self._ids)
        self.labels[label.org_id, label.workspace_id, label.name, label.label] = label
        return label

    async def delete_label(self, label: PromptLabel) -> None:
        del self.labels[label.org_id, label.workspace_id, label.name, label.label]

    async def add_event(self, event: PromptLabelEvent) -> PromptLabelEvent:
        event.id = next(self._ids)
        self.events.append(event)
        return event

    async def latest_event(self, org_id: str, workspace_id: str, name: str, label: str) -> PromptLabelEvent | None:
        events = await self.history(org_id, workspace_id, name, label, before_id=None, limit=1)
        return events[0] if events else None

    async def get_event(self, event_id: int) -> PromptLabelEvent | None:
        return next((event for event in self.events if event.id == event_id), None)

    async def history(
        self, org_id: str, workspace_id: str, name: str, label: str, *, before_id: int | None, limit: int
    ) -> list[PromptLabelEvent]:
        mine = [
            e
            for e in reversed(self.events)
            if (e.org_id, e.workspace_id, e.name, e.label) == (org_id, workspace_id, name, label)
            and (before_id is None or e.id < before_id)
        ]
        return mine[:limit]
