"""Labels, whole: resolve a name + label to a version, move, delete and roll back labels, and their history. Running
through a label is the run service's job (service/runs/service.py: `run_label`); this one only resolves.

Usable without HTTP (the web UI calls it directly): give it a session, the telemetry port, the protected label names
and the caller (a Principal, or None with auth off). Like every service it flushes and never commits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.archive import rules as archive_rules
from service.auth.principal import Principal, TenantScope
from service.db.engine import emit
from service.db.label_history import stack_top
from service.db.models import PromptLabel, PromptLabelEvent, is_storable_id, utcnow
from service.db.pagination import Page, check_limit, decode_cursor, page_of
from service.errors import Duplicate, Forbidden, NotFound, Unprocessable
from service.labels.names import check_label, check_settable
from service.labels.policy import Policy, check_policy, start_state
from service.labels.repository import LabelRepository, Target
from service.labels.split import Arm, arms_of, check_split, pick_for, stored_split
from service.vocabulary import DEFAULT_LABEL, LATEST
from service.webhooks.outbox import Outbox, add_event, label_event
from telemetry import Telemetry
from telemetry.events import LabelMoved, PromptListChanged, label_move_span, label_resolve_span

ANONYMOUS = "anonymous"
# Aliases: inside LabelService the name `list` is its method.
Arms = list[Arm]
StoredSplit = list[dict[str, int]]


class NothingToRollBack(Duplicate):
    code = "nothing_to_roll_back"


def from_split_of(event: PromptLabelEvent) -> list[dict[str, int]] | None:
    """The split the label had before this event (None when it had a single target or none)."""
    return (event.details or {}).get("from_split")


class LabelService:
    def __init__(
        self,
        session: AsyncSession,
        telemetry: Telemetry,
        protected: frozenset[str],
        principal: Principal | None = None,
        repo: LabelRepository | None = None,
        actor: str | None = None,
        rollout_min_interval_s: float = 10.0,
        outbox: Outbox = add_event,
    ) -> None:
        self.repo = repo or LabelRepository(session)
        self.outbox = outbox
        self.session = session
        self.telemetry = telemetry
        self.protected = protected
        self.principal = principal
        self._actor = actor  # who acts without a principal (the rollout worker: "rollout")
        self.rollout_min_interval_s = rollout_min_interval_s

    @property
    def actor(self) -> str:
        if self.principal is not None:
            return self.principal.key_id
        return self._actor or ANONYMOUS

    # -- reads -----------------------------------------------------------------------------------------------------
    async def resolve(
        self,
        name: str,
        *,
        tenant: TenantScope,
        label: str | None = None,
        version_id: int | None = None,
        key: str | None = None,
        pick: bool = True,
    ) -> tuple[Target, str | None]:
        """(target, label): by label (default `production`), `latest`, or a version id of this name. One read, and one
        more for a split label: its arms, of which one is picked (sticky by `key`, random without; service/labels/
        split.py). `pick=False` keeps the baseline as `version` (variant None) and only loads the arms."""
        org_id, workspace_id = tenant.pair()
        if label is not None and version_id is not None:
            # 422: each parameter is valid alone; only together are they refused, which a schema cannot say.
            raise Unprocessable("Pass either `label` or `version_id`, not both.", code="label_and_version")
        if version_id is not None:
            with label_resolve_span(self.telemetry, version_id=version_id):
                target = await self.repo.resolve_version(org_id, workspace_id, name, version_id)
            if target is None:
                raise await self._not_found(org_id, workspace_id, name, f"version {version_id}", "version_not_found")
            return target, None
        label = check_label(label or DEFAULT_LABEL)
        with label_resolve_span(self.telemetry, label=label):
            if label == LATEST:
                target = await self.repo.resolve_latest(org_id, workspace_id, name)
            else:
                target = await self.repo.resolve_label(org_id, workspace_id, name, label)
        if target is None:
            raise await self._not_found(org_id, workspace_id, name, f"label {label!r}", "label_not_found")
        if target.label is not None and target.label.split:
            target = await self._with_arms(org_id, workspace_id, name, label, target, key, pick)
        return target, label

    async def _with_arms(
        self, org_id: str, workspace_id: str, name: str, label: str, target: Target, key: str | None, pick: bool
    ) -> Target:
        arms = arms_of(target.label.split if target.label is not None else None) or []
        found = await self.repo.resolve_versions(org_id, workspace_id, name, [arm.version_id for arm in arms])
        if any(arm.version_id not in found for arm in arms):
            return target  # an arm's version was deleted since: serve the baseline alone
        each = tuple(found[arm.version_id] for arm in arms)
        if not pick:
            return Target(
                target.version, target.template, target.label, target.newest_id, target.newest_captured, None, each
            )
        variant = pick_for(arms, name, label, key)
        chosen = each[variant]
        return Target(
            chosen.version, chosen.template, target.label, chosen.newest_id, chosen.newest_captured, variant, each
        )

    async def split_of(self, name: str, label: str, *, tenant: TenantScope) -> Arms | None:
        """The label's current split (None when it has one target, or none)."""
        org_id, workspace_id = tenant.pair()
        row = await self.repo.get_label(org_id, workspace_id, name, label)
        return arms_of(row.split) if row is not None else None

    async def list(self, name: str, *, tenant: TenantScope) -> list[tuple[Target, str]]:
        """Every label of the name with its target, `latest` first (absent while no revision has a version)."""
        org_id, workspace_id = tenant.pair()
        latest = await self.repo.resolve_latest(org_id, workspace_id, name)
        if latest is None and not await self.repo.name_exists(org_id, workspace_id, name):
            raise self._no_name(name, workspace_id)
        stored = [(target, target.label.label) for target in await self.repo.list_labels(org_id, workspace_id, name)]  # type: ignore[union-attr]
        return ([(latest, LATEST)] if latest is not None else []) + stored

    def is_protected(self, label: str) -> bool:
        return label in self.protected

    def move_refusal(self, label: str) -> str | None:
        """Who may move, roll back or delete this label, as one rule: None when the caller may, else why not
        (`latest` is automatic; a read key writes nothing; a protected label needs an `admin` key). With auth off
        there is no caller to refuse."""
        if label == LATEST:
            return "reserved_label"
        if self.principal is None:
            return None
        if self.is_protected(label) and not self.principal.is_admin:
            return "protected_label"
        if not self.principal.can_write:
            return "forbidden_role"
        return None

    def may_change(self, label: str) -> bool:
        """Whether the caller may move, roll back or delete this label (the UI shows its buttons only then)."""
        return self.move_refusal(label) is None

    async def history(
        self,
        name: str,
        label: str,
        *,
        tenant: TenantScope,
        limit: int,
        cursor: str | None,
    ) -> Page[PromptLabelEvent]:
        org_id, workspace_id = tenant.pair()
        check_settable(label)
        before_id = decode_cursor(cursor)
        rows = await self.repo.history(
            org_id, workspace_id, name, label, before_id=before_id, limit=check_limit(limit) + 1
        )
        if not rows and before_id is None:
            raise await self._not_found(org_id, workspace_id, name, f"label {label!r}", "label_not_found")
        return page_of(rows, limit)

    # -- moves -----------------------------------------------------------------------------------------------------
    async def move(
        self,
        name: str,
        label: str,
        version_id: int,
        *,
        tenant: TenantScope,
        reason: str | None = None,
    ) -> Target:
        """Point the label at a version of a revision of this name. A move to the current target records nothing."""
        org_id, workspace_id = self._writable(label, tenant)
        with label_move_span(self.telemetry, label, "move"):
            target = await self._version_of_name(org_id, workspace_id, name, version_id)
            await self._check_labellable(org_id, workspace_id, name, label, target)
            await self.repo.lock_label(org_id, workspace_id, name, label)
            current = await self.repo.get_label(org_id, workspace_id, name, label)
            if current is not None and current.version_id == version_id and not current.split:
                return Target(target.version, target.template, current, target.newest_id, target.newest_captured)
            latest = await self.repo.latest_event(org_id, workspace_id, name, label)
            previous = current.version_id if current is not None else None
            from_split = current.split if current is not None else None
            row = await self._point(current, org_id, workspace_id, name, label, version_id)
            key = (org_id, workspace_id, name, label)
            details = {"from_split": from_split} if from_split else None
            await self._record(key, "move", previous, version_id, stack_top(latest), reason, details=details)
            return Target(target.version, target.template, row, target.newest_id, target.newest_captured)

    async def put(
        self,
        name: str,
        label: str,
        *,
        tenant: TenantScope,
        version_id: int | None = None,
        arms: Arms | None = None,
        policy: Policy | None = None,
        reason: str | None = None,
    ) -> Target:
        """`PUT .../labels/{label}`: one version, or a split, optionally with a rollout policy (checked here, then run
        by the rollout worker: service/rollouts/)."""
        # 422: each field is valid alone; only their combination is refused, which the schema cannot say.
        if (version_id is None) == (arms is None):
            raise Unprocessable(
                "Give exactly one of `version_id` (one target) and `split` (weighted arms).", code="version_or_split"
            )
        if policy is not None and arms is None:
            raise Unprocessable("`policy` needs a `split` (baseline and canary arms).", code="invalid_policy")
        if arms is None:
            assert version_id is not None
            return await self.move(name, label, version_id, tenant=tenant, reason=reason)
        rollout = None
        if policy is not None:
            check_settable(label)
            check_split(arms)
            check_policy(policy, [arm.weight for arm in arms[1:]], min_interval_s=self.rollout_min_interval_s)
            rollout = start_state(policy, utcnow())
        return await self.set_split(name, label, arms, tenant=tenant, reason=reason, rollout=rollout)

    async def set_split(
        self,
        name: str,
        label: str,
        arms: Arms,
        *,
        tenant: TenantScope,
        reason: str | None = None,
        rollout: dict[str, Any] | None = None,
        kind: str = "split",
        details: dict[str, Any] | None = None,
    ) -> Target:
        """Point the label at a weighted split of versions of this name (the first arm is the baseline). One arm is a
        move. `rollout` is the split's checked policy and progress (service/labels/policy.py), kept on the label;
        the rollout worker sets further steps through here with its own `kind` (promote) and `details`."""
        check_settable(label)
        arms = check_split(arms)
        if len(arms) == 1 and rollout is None:
            return await self.move(name, label, arms[0].version_id, tenant=tenant, reason=reason)
        org_id, workspace_id = self._writable(label, tenant)
        with label_move_span(self.telemetry, label, kind):
            found = await self.repo.resolve_versions(org_id, workspace_id, name, [arm.version_id for arm in arms])
            for index, arm in enumerate(arms):
                if arm.version_id not in found:
                    if not await self.repo.name_exists(org_id, workspace_id, name):
                        raise self._no_name(name, workspace_id)
                    raise Unprocessable(
                        f"`split[{index}].version_id` {arm.version_id} is not a version of prompt {name!r} in this "
                        "workspace; list its versions with GET /api/prompt-templates/{id}/versions.",
                        code="invalid_split",
                    )
                if kind == "split":  # a new split may not send traffic to something archived (409 archived_target)
                    await self._check_labellable(org_id, workspace_id, name, label, found[arm.version_id])
            await self.repo.lock_label(org_id, workspace_id, name, label)
            current = await self.repo.get_label(org_id, workspace_id, name, label)
            split = stored_split(arms) if len(arms) > 1 else None  # one arm (a completed rollout): one target
            if current is not None and current.split == split and rollout is None and current.rollout is None:
                return await self._target_of(org_id, workspace_id, name, label)
            latest = await self.repo.latest_event(org_id, workspace_id, name, label)
            previous = current.version_id if current is not None else None
            from_split = current.split if current is not None else None
            row = await self._point(current, org_id, workspace_id, name, label, arms[0].version_id, split=split)
            row.rollout = rollout
            key = (org_id, workspace_id, name, label)
            details = {**(details or {}), **({"from_split": from_split} if from_split else {})} or None
            event = await self._record(
                key, kind, previous, arms[0].version_id, stack_top(latest), reason, split=split, details=details
            )
            if rollout is not None and kind == "split":
                rollout["split_event_id"] = event.id
                row.rollout = dict(rollout)
                await self.session.flush()
            return await self._target_of(org_id, workspace_id, name, label)

    async def annotate(
        self,
        name: str,
        label: str,
        kind: str,
        *,
        tenant: TenantScope,
        reason: str | None,
        details: dict[str, Any],
    ) -> PromptLabelEvent:
        """A history row that changes no target (a rollout's `abort` or `hold`, with its reason and numbers)."""
        org_id, workspace_id = self._writable(label, tenant)
        await self.repo.lock_label(org_id, workspace_id, name, label)
        current = await self.repo.get_label(org_id, workspace_id, name, label)
        if current is None:
            raise await self._not_found(org_id, workspace_id, name, f"label {label!r}", "label_not_found")
        latest = await self.repo.latest_event(org_id, workspace_id, name, label)
        key = (org_id, workspace_id, name, label)
        version = current.version_id
        return await self._record(
            key, kind, version, version, stack_top(latest), reason, split=current.split, details=details
        )

    async def _target_of(self, org_id: str, workspace_id: str, name: str, label: str) -> Target:
        target = await self.repo.resolve_label(org_id, workspace_id, name, label)
        assert target is not None  # just written under the label's lock
        return await self._with_arms(org_id, workspace_id, name, label, target, None, False)

    async def delete(self, name: str, label: str, *, tenant: TenantScope, reason: str | None = None) -> None:
        org_id, workspace_id = self._writable(label, tenant)
        with label_move_span(self.telemetry, label, "delete"):
            await self.repo.lock_label(org_id, workspace_id, name, label)
            current = await self.repo.get_label(org_id, workspace_id, name, label)
            if current is None:
                raise await self._not_found(org_id, workspace_id, name, f"label {label!r}", "label_not_found")
            latest = await self.repo.latest_event(org_id, workspace_id, name, label)
            previous = current.version_id
            details = {"from_split": current.split} if current.split else None
            await self.repo.delete_label(current)
            key = (org_id, workspace_id, name, label)
            await self._record(key, "delete", previous, None, stack_top(latest), reason, details=details)

    async def rollback(
        self,
        name: str,
        label: str,
        *,
        tenant: TenantScope,
        reason: str | None = None,
        undo_event_id: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> Target:
        """Undo the latest move not undone yet: back to the target the label had before it. A second rollback in a
        row undoes the move before that one (it goes further back; it never re-applies what the first one undid);
        when the undone move created the label there is no earlier target: 409 nothing_to_roll_back."""
        org_id, workspace_id = self._writable(label, tenant)
        with label_move_span(self.telemetry, label, "rollback"):
            await self.repo.lock_label(org_id, workspace_id, name, label)
            latest = await self.repo.latest_event(org_id, workspace_id, name, label)
            # A rollout's abort undoes its split event itself, whatever steps it promoted since.
            top_id = undo_event_id if undo_event_id is not None else stack_top(latest)
            undone = await self.repo.get_event(top_id) if top_id is not None else None
            if latest is None and not await self.repo.name_exists(org_id, workspace_id, name):
                raise self._no_name(name, workspace_id)
            if undone is None or undone.from_version_id is None:
                raise NothingToRollBack(
                    f"Label {label!r} of {name!r} had no target before its latest move, so there is nothing to roll "
                    "back to. Move it with PUT to the version you want.",
                )
            target = await self.repo.resolve_version(org_id, workspace_id, name, undone.from_version_id)
            if target is None:
                raise NothingToRollBack(
                    f"The version label {label!r} pointed at before (id {undone.from_version_id}) no longer exists."
                )
            await self._check_labellable(org_id, workspace_id, name, label, target)
            current = await self.repo.get_label(org_id, workspace_id, name, label)
            previous = current.version_id if current is not None else None
            restored = from_split_of(undone)  # rolling back a split change restores the split before it
            row = await self._point(current, org_id, workspace_id, name, label, target.version.id, split=restored)
            key = (org_id, workspace_id, name, label)
            from_split = current.split if current is not None else None
            details = {**(details or {}), **({"from_split": from_split} if from_split else {})} or None
            await self._record(
                key,
                "rollback",
                previous,
                target.version.id,
                undone.stack_parent_id,
                reason,
                split=restored,
                details=details,
            )
            if restored:
                return await self._target_of(org_id, workspace_id, name, label)
            return Target(target.version, target.template, row, target.newest_id, target.newest_captured)

    # -- helpers ---------------------------------------------------------------------------------------------------
    def _writable(self, label: str, tenant: TenantScope) -> tuple[str, str]:
        check_settable(label)
        resolved = tenant.pair()
        if self.move_refusal(label) == "protected_label":
            self.telemetry.record_auth_failure("protected_label")
            raise Forbidden(
                f"Label {label!r} is protected (PROMPTER_PROTECTED_LABELS): only an `admin` key may move, roll back "
                "or delete it. Ask an admin, or use another label (e.g. `staging`).",
                code="protected_label",
            )
        return resolved

    async def _check_labellable(self, org_id: str, workspace_id: str, name: str, label: str, target: Target) -> None:
        """409 archived_target when the version, its revision or the name is archived (service/archive/)."""
        version_id = target.version.id
        part = await self.repo.archived_part(org_id, workspace_id, name, target.template.id, version_id)
        if part == "gone":
            raise await self._not_found(org_id, workspace_id, name, f"version {version_id}", "version_not_found")
        if part is not None:
            raise archive_rules.refuse_archived(part, name=name, label=label, version_id=version_id)

    async def _version_of_name(self, org_id: str, workspace_id: str, name: str, version_id: int) -> Target:
        target = (
            await self.repo.resolve_version(org_id, workspace_id, name, version_id)
            if is_storable_id(version_id)
            else None
        )
        if target is None:
            raise await self._not_found(org_id, workspace_id, name, f"version {version_id}", "version_not_found")
        return target

    async def _point(
        self,
        current: PromptLabel | None,
        org_id: str,
        workspace_id: str,
        name: str,
        label: str,
        version_id: int,
        *,
        split: StoredSplit | None = None,
    ) -> PromptLabel:
        """Point the label at one version, or at a split (baseline first). Any change ends a running rollout
        unless the caller (set_split) sets a new one."""
        if current is None:
            row = PromptLabel(
                org_id=org_id,
                workspace_id=workspace_id,
                name=name,
                label=label,
                version_id=version_id,
                split=split,
                updated_by=self.actor,
            )
            return await self.repo.insert_label(row)
        current.version_id = version_id
        current.split = split
        if current.rollout is not None and current.rollout.get("status") == "running":
            current.rollout = {**current.rollout, "status": "superseded"}
        current.updated_at = utcnow()
        current.updated_by = self.actor
        await self.session.flush()
        return current

    async def _record(
        self,
        key: tuple[str, str, str, str],
        kind: str,
        from_version_id: int | None,
        to_version_id: int | None,
        stack_parent_id: int | None,
        reason: str | None,
        *,
        split: StoredSplit | None = None,
        details: dict[str, Any] | None = None,
    ) -> PromptLabelEvent:
        """The one writer of label history: every move, split change, rollback, delete and rollout decision."""
        org_id, workspace_id, name, label = key
        event = PromptLabelEvent(
            org_id=org_id,
            workspace_id=workspace_id,
            name=name,
            label=label,
            kind=kind,
            from_version_id=from_version_id,
            to_version_id=to_version_id,
            stack_parent_id=stack_parent_id,
            actor=self.actor,
            reason=reason,
            split=split,
            details=details,
        )
        await self.repo.add_event(event)
        emit(self.session, LabelMoved(kind=kind, protected=self.is_protected(label)))
        # The webhook event, in this same transaction (service/webhooks/outbox.py).
        await self.outbox(self.session, **label_event(event))
        # What the label resolves to changed: MCP clients re-read the prompt list (service/mcp/feed.py).
        emit(self.session, PromptListChanged(org_id, workspace_id, name))
        return event

    async def _not_found(self, org_id: str, workspace_id: str, name: str, what: str, code: str) -> NotFound:
        if not await self.repo.name_exists(org_id, workspace_id, name):
            return self._no_name(name, workspace_id)
        return NotFound(f"Prompt {name!r} has no {what} in this workspace.", code=code)

    @staticmethod
    def _no_name(name: str, workspace_id: str) -> NotFound:
        return NotFound(
            f"No prompt template named {name!r} in workspace {workspace_id!r}. Create it with POST "
            "/api/prompt-templates.",
            code="template_not_found",
        )
