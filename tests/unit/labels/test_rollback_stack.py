"""The label rules of service/labels/service.py on fakes (no database, no socket): the rollback stack, the one
permission rule for moving a label, and the event log every change appends to."""

from __future__ import annotations

import pytest

from service.auth.principal import Principal, TenantScope
from service.errors import Forbidden, NotFound, Unprocessable
from service.labels.service import LabelService, NothingToRollBack
from tests.unit.labels.fakes import FakeLabelRepository, FakeOutbox, FakeSession, FakeTelemetry

ORG, WS, NAME = "acme", "support", "greet"
TENANT = TenantScope(None, ORG, WS)


@pytest.fixture
def repo() -> FakeLabelRepository:
    return FakeLabelRepository()


def labels_of(repo: FakeLabelRepository, principal: Principal | None = None, protected=frozenset()) -> LabelService:
    return LabelService(FakeSession(), FakeTelemetry(), frozenset(protected), principal, repo=repo, outbox=FakeOutbox())  # type: ignore[arg-type]


async def target_of(service: LabelService, label: str) -> int:
    target, _ = await service.resolve(NAME, tenant=TENANT, label=label)
    return target.version.id


async def test_each_rollback_undoes_the_move_before_the_last_one_undone(repo):
    v1, v2, v3 = (repo.add_version(ORG, WS, NAME) for _ in range(3))
    service = labels_of(repo)
    for version in (v1, v2, v3):
        await service.move(NAME, "staging", version, tenant=TENANT)

    await service.rollback(NAME, "staging", tenant=TENANT)
    assert await target_of(service, "staging") == v2
    # A second rollback goes further back; it never re-applies what the first one undid.
    await service.rollback(NAME, "staging", tenant=TENANT)
    assert await target_of(service, "staging") == v1
    # The move that created the label has no earlier target.
    with pytest.raises(NothingToRollBack):
        await service.rollback(NAME, "staging", tenant=TENANT)
    assert [e.kind for e in repo.events] == ["move", "move", "move", "rollback", "rollback"]


async def test_a_move_after_a_rollback_starts_a_new_top_of_the_stack(repo):
    v1, v2, v3 = (repo.add_version(ORG, WS, NAME) for _ in range(3))
    service = labels_of(repo)
    await service.move(NAME, "staging", v1, tenant=TENANT)
    await service.move(NAME, "staging", v2, tenant=TENANT)
    await service.rollback(NAME, "staging", tenant=TENANT)  # back to v1
    await service.move(NAME, "staging", v3, tenant=TENANT)
    await service.rollback(NAME, "staging", tenant=TENANT)
    assert await target_of(service, "staging") == v1


async def test_a_move_to_the_current_target_records_nothing(repo):
    v1 = repo.add_version(ORG, WS, NAME)
    service = labels_of(repo)
    await service.move(NAME, "staging", v1, tenant=TENANT)
    await service.move(NAME, "staging", v1, tenant=TENANT)
    assert len(repo.events) == 1


async def test_a_deleted_label_rolls_back_to_its_last_target(repo):
    v1, v2 = repo.add_version(ORG, WS, NAME), repo.add_version(ORG, WS, NAME)
    service = labels_of(repo)
    await service.move(NAME, "staging", v1, tenant=TENANT)
    await service.move(NAME, "staging", v2, tenant=TENANT)
    await service.delete(NAME, "staging", tenant=TENANT)
    await service.rollback(NAME, "staging", tenant=TENANT)
    assert await target_of(service, "staging") == v2
    assert [(e.kind, e.from_version_id, e.to_version_id) for e in repo.events][-2:] == [
        ("delete", v2, None),
        ("rollback", None, v2),
    ]


async def test_latest_is_automatic_and_cannot_be_moved(repo):
    v1 = repo.add_version(ORG, WS, NAME)
    service = labels_of(repo)
    assert await target_of(service, "latest") == v1
    with pytest.raises(Unprocessable) as refused:
        await service.move(NAME, "latest", v1, tenant=TENANT)
    assert refused.value.code == "reserved_label"


async def test_a_version_of_another_name_is_not_found(repo):
    repo.add_version(ORG, WS, NAME)
    other = repo.add_version(ORG, WS, "other")
    with pytest.raises(NotFound) as missing:
        await labels_of(repo).move(NAME, "staging", other, tenant=TENANT)
    assert missing.value.code == "version_not_found"


@pytest.mark.parametrize(
    ("role", "label", "refusal"),
    [
        ("admin", "production", None),
        ("write", "production", "protected_label"),
        ("write", "staging", None),
        ("read", "staging", "forbidden_role"),
        ("admin", "latest", "reserved_label"),
    ],
)
def test_one_rule_says_who_may_move_a_label(role, label, refusal):
    service = labels_of(FakeLabelRepository(), Principal(ORG, WS, role, "k1"), protected={"production"})
    assert service.move_refusal(label) == refusal
    assert service.may_change(label) is (refusal is None)


def test_with_auth_off_anyone_may_move_any_label_but_latest():
    service = labels_of(FakeLabelRepository(), None, protected={"production"})
    assert service.may_change("production") and not service.may_change("latest")


async def test_a_write_key_moving_a_protected_label_is_refused_and_counted(repo):
    v1 = repo.add_version(ORG, WS, NAME)
    telemetry = FakeTelemetry()
    service = LabelService(
        FakeSession(),
        telemetry,
        frozenset({"production"}),
        Principal(ORG, WS, "write", "k1"),
        repo=repo,  # type: ignore[arg-type]
    )
    with pytest.raises(Forbidden) as refused:
        await service.move(NAME, "production", v1, tenant=TenantScope(service.principal))
    assert refused.value.code == "protected_label" and telemetry.auth_failures == ["protected_label"]
    assert repo.events == []
