"""Running through a label is the run service's job (service/runs/service.py): the label service only resolves. On
fakes (the fake LLM, in-memory repositories, a session that only counts its phases): the run uses the labelled
version's provider, model and params, records the label, and flags label drift when the provider's identity moved."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

import service.labels.drift as drift_module
import service.runs.service as runs_module
from service.auth.principal import TenantScope
from service.db.models import PromptResult, PromptTemplate, PromptVersion
from service.labels.repository import Target
from service.providers import ProviderRegistry
from service.providers.base import GenerationParams
from service.runs.service import RunCommand, RunService
from service.settings import Settings
from service.templates.service import TemplateService
from service.versions.service import VersionService
from telemetry import Telemetry
from telemetry.events import LabelDrifted, ResultStored
from tests.unit.labels.fakes import FakeOutbox

TENANT = TenantScope(None, "acme", "support")


class PhaseSession:
    """Counts the unit of work's phase changes: the reads end before the provider call, one write after it."""

    def __init__(self) -> None:
        self.info: dict[str, Any] = {}
        self.commits = 0
        self.writes = 0

    async def commit(self) -> None:
        self.commits += 1

    def in_transaction(self) -> bool:
        return False

    async def connection(self, **_: Any) -> None:
        self.writes += 1


class FakeVersions:
    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.rows: list[PromptVersion] = []

    async def insert(self, version: PromptVersion) -> PromptVersion:
        version.id = next(self._ids)
        self.rows.append(version)
        return version

    async def by_pvk(self, template_id: int, pvk: str) -> PromptVersion | None:
        return next((v for v in self.rows if (v.template_id, v.pvk) == (template_id, pvk)), None)

    async def labels_on_lineage(self, *_: Any) -> list[str]:
        return []  # the labels a drift event names (service/webhooks): none in these tests

    async def newest_in_lineage(self, template_id: int, provider: str, model_id: str, params_hash: str) -> Any:
        same = [
            v
            for v in self.rows
            if (v.template_id, v.provider, v.model_id, v.params_hash) == (template_id, provider, model_id, params_hash)
        ]
        return same[-1] if same else None


class FakeResults:
    def __init__(self) -> None:
        self.rows: list[PromptResult] = []

    async def insert(self, result: PromptResult) -> PromptResult:
        self.rows.append(result)
        return result


class FakeLabels:
    """Resolves one label to a version: all the run service asks of the label service."""

    def __init__(self) -> None:
        self.target: Target | None = None
        self.asked: list[tuple[str, str | None]] = []

    async def resolve(
        self, name: str, *, tenant: TenantScope, label: str | None = None, key: str | None = None
    ) -> tuple[Target, str]:
        self.asked.append((name, label))
        assert self.target is not None
        return self.target, label or "production"


@pytest.fixture
def world(monkeypatch):
    emitted: list[object] = []
    monkeypatch.setattr(runs_module, "emit", lambda _session, event: emitted.append(event))
    monkeypatch.setattr(drift_module, "emit", lambda _session, event: emitted.append(event))  # label drift and calls
    session, telemetry, providers = PhaseSession(), Telemetry.disabled(), ProviderRegistry.fakes()
    versions = VersionService(session, providers, None, telemetry, repo=FakeVersions(), outbox=FakeOutbox())  # type: ignore[arg-type]
    templates = TemplateService(session, telemetry, Settings())  # type: ignore[arg-type]
    labels, results = FakeLabels(), FakeResults()
    runs = RunService(session, providers, versions, templates, telemetry, labels, repo=results)  # type: ignore[arg-type]
    template = PromptTemplate(id=7, name="greet", body="Hello {{ who }}", variables=["who"], content_hash="h")
    return runs, labels, providers, session, template, emitted


async def pin(runs: RunService, labels: FakeLabels, template: PromptTemplate) -> PromptVersion:
    """Run once by template to pin a version, and point the label at it."""
    await runs.run(RunCommand(template, "openai", "gpt-4o", GenerationParams(temperature=0.5), {"who": "a"}))
    version = runs.versions.repo.rows[-1]  # type: ignore[attr-defined]
    labels.target = Target(version, template, None, version.id, version.captured)
    return version


async def test_a_run_through_a_label_uses_the_labelled_version_and_records_the_label(world):
    runs, labels, _, session, template, emitted = world
    pinned = await pin(runs, labels, template)
    result = await runs.run_label("greet", label="production", variables={"who": "b"}, tenant=TENANT)
    assert labels.asked == [("greet", "production")]
    assert (result.provider, result.model_id, result.version_id) == ("openai", "gpt-4o", pinned.id)
    assert (result.label, result.identity_matches_label) == ("production", True)
    assert result.rendered_prompt == "Hello b"
    assert not any(isinstance(e, LabelDrifted) for e in emitted)
    assert emitted.count(ResultStored(fingerprint_present=True)) == 2
    # Each run: the reads end before the provider is called, then one write transaction.
    assert (session.commits, session.writes) == (2, 2)


async def test_a_moved_identity_is_label_drift(world):
    runs, labels, providers, _, template, emitted = world
    pinned = await pin(runs, labels, template)
    providers.get("openai").set_identity("fp_after_an_upgrade")
    result = await runs.run_label("greet", label=None, variables={"who": "b"}, tenant=TENANT)
    assert result.identity_matches_label is False and result.label == "production"
    assert result.version_id != pinned.id  # the run pinned a new version of the same lineage
    assert LabelDrifted("openai") in emitted


async def test_a_run_by_template_records_no_label(world):
    runs, _, _, _, template, _ = world
    result = await runs.run(RunCommand(template, "openai", "gpt-4o", GenerationParams(), {"who": "a"}))
    assert (result.label, result.identity_matches_label) == (None, None)
