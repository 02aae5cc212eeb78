"""The archive rule as the label service applies it (on fakes): a label may not be moved or rolled back onto an
archived version, revision or name; what is not archived moves as before."""

from __future__ import annotations

import pytest

from service.archive.rules import ArchivedTarget
from service.auth.principal import TenantScope
from service.errors import NotFound
from service.labels.service import LabelService
from tests.unit.labels.fakes import FakeLabelRepository, FakeOutbox, FakeSession, FakeTelemetry

ORG, WS, NAME = "acme", "support", "greet"
TENANT = TenantScope(None, ORG, WS)


@pytest.fixture
def repo() -> FakeLabelRepository:
    return FakeLabelRepository()


def service_of(repo: FakeLabelRepository) -> LabelService:
    return LabelService(FakeSession(), FakeTelemetry(), frozenset(), None, repo=repo, outbox=FakeOutbox())  # type: ignore[arg-type]


@pytest.mark.parametrize("part", ["version", "revision", "name"])
async def test_a_move_onto_an_archived_part_is_refused_and_records_nothing(repo, part):
    version = repo.add_version(ORG, WS, NAME)
    key = {"version": version, "revision": repo.versions[version].template_id, "name": NAME}[part]
    repo.archived.add((part, key))
    with pytest.raises(ArchivedTarget) as refused:
        await service_of(repo).move(NAME, "staging", version, tenant=TENANT)
    assert refused.value.code == "archived_target" and refused.value.extra == {"archived": part}
    assert repo.events == [] and repo.labels == {}


async def test_a_rollback_onto_an_archived_version_is_refused(repo):
    v1, v2 = repo.add_version(ORG, WS, NAME), repo.add_version(ORG, WS, NAME)
    service = service_of(repo)
    await service.move(NAME, "staging", v1, tenant=TENANT)
    await service.move(NAME, "staging", v2, tenant=TENANT)
    repo.archived.add(("version", v1))
    with pytest.raises(ArchivedTarget):
        await service.rollback(NAME, "staging", tenant=TENANT)
    assert [e.kind for e in repo.events] == ["move", "move"]
    repo.archived.clear()
    await service.rollback(NAME, "staging", tenant=TENANT)
    assert [e.kind for e in repo.events] == ["move", "move", "rollback"]


async def test_a_target_deleted_meanwhile_is_not_found(repo):
    version = repo.add_version(ORG, WS, NAME)

    async def gone(*_args):
        return "gone"

    repo.archived_part = gone  # type: ignore[method-assign]
    with pytest.raises(NotFound):
        await service_of(repo).move(NAME, "staging", version, tenant=TENANT)
