"""Labels, whole: resolve a name + label to a version, move, delete and roll back labels, and their history. Running
through a label is the run service's job (service/runs/service.py: `run_label`); this one only resolves.

Usable without HTTP (the web UI calls it directly): give it a session, the telemetry port, the protected label names
and the caller (a Principal, or None with auth off). Like every service it flushes and never commits.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.principal import Principal, TenantScope
from service.db.engine import emit
from service.db.models import PromptLabel, PromptLabelEvent, is_storable_id, utcnow
from service.db.pagination import Page, check_limit, decode_cursor, page_of
from service.errors import Duplicate, Forbidden, NotFound, Unprocessable
from service.labels.names import check_label, check_settable
from service.labels.repository import LabelRepository, Target
from service.vocabulary import DEFAULT_LABEL, LATEST
from telemetry import Telemetry
from telemetry.events import LabelMoved, PromptListChanged, label_move_span, label_resolve_span

ANONYMOUS = "anonymous"


class NothingToRollBack(Duplicate):
    code = "nothing_to_roll_back"


def stack_top(event: PromptLabelEvent | None) -> int | None:
    """The id of the move a rollback issued now would undo (see PromptLabelEvent.stack_parent_id)."""
    if event is None:
        return None
    return event.stack_parent_id if event.kind == "rollback" else event.id


class LabelService:
    def __init__(
        self,
        session: AsyncSession,
        telemetry: Telemetry,
        protected: frozenset[str],
        principal: Principal | None = None,
        repo: LabelRepository | None = None,
    ) -> None:
        self.repo = repo or LabelRepository(session)
        self.session = session
        self.telemetry = telemetry
        self.protected = protected
        self.principal = principal

    @property
    def actor(self) -> str:
        return self.principal.key_id if self.principal is not None else ANONYMOUS

    # -- reads -----------------------------------------------------------------------------------------------------
    async def resolve(
        self,
        name: str,
        *,
        tenant: TenantScope,
        label: str | None = None,
        version_id: int | None = None,
    ) -> tuple[Target, str | None]:
        """(target, label): by label (default `production`), `latest`, or a version id of this name. One read."""
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
        return target, label

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
            await self.repo.lock_label(org_id, workspace_id, name, label)
            current = await self.repo.get_label(org_id, workspace_id, name, label)
            if current is not None and current.version_id == version_id:
                return Target(target.version, target.template, current, target.newest_id, target.newest_captured)
            latest = await self.repo.latest_event(org_id, workspace_id, name, label)
            previous = current.version_id if current is not None else None
            row = await self._point(current, org_id, workspace_id, name, label, version_id)
            key = (org_id, workspace_id, name, label)
            await self._record(key, "move", previous, version_id, stack_top(latest), reason)
            return Target(target.version, target.template, row, target.newest_id, target.newest_captured)

    async def delete(self, name: str, label: str, *, tenant: TenantScope, reason: str | None = None) -> None:
        org_id, workspace_id = self._writable(label, tenant)
        with label_move_span(self.telemetry, label, "delete"):
            await self.repo.lock_label(org_id, workspace_id, name, label)
            current = await self.repo.get_label(org_id, workspace_id, name, label)
            if current is None:
                raise await self._not_found(org_id, workspace_id, name, f"label {label!r}", "label_not_found")
            latest = await self.repo.latest_event(org_id, workspace_id, name, label)
            previous = current.version_id
            await self.repo.delete_label(current)
            key = (org_id, workspace_id, name, label)
            await self._record(key, "delete", previous, None, stack_top(latest), reason)

    async def rollback(self, name: str, label: str, *, tenant: TenantScope, reason: str | None = None) -> Target:
        """Undo the latest move not undone yet: back to the target the label had before it. A second rollback in a
        row undoes the move before that one (it goes further back; it never re-applies what the first one undid);
        when the undone move created the label there is no earlier target: 409 nothing_to_roll_back."""
        org_id, workspace_id = self._writable(label, tenant)
        with label_move_span(self.telemetry, label, "rollback"):
            await self.repo.lock_label(org_id, workspace_id, name, label)
            latest = await self.repo.latest_event(org_id, workspace_id, name, label)
            top_id = stack_top(latest)
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
            current = await self.repo.get_label(org_id, workspace_id, name, label)
            previous = current.version_id if current is not None else None
            row = await self._point(current, org_id, workspace_id, name, label, target.version.id)
            key = (org_id, workspace_id, name, label)
            await self._record(key, "rollback", previous, target.version.id, undone.stack_parent_id, reason)
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
        self, current: PromptLabel | None, org_id: str, workspace_id: str, name: str, label: str, version_id: int
    ) -> PromptLabel:
        if current is None:
            row = PromptLabel(
                org_id=org_id,
                workspace_id=workspace_id,
                name=name,
                label=label,
                version_id=version_id,
                updated_by=self.actor,
            )
            return await self.repo.insert_label(row)
        current.version_id = version_id
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
    ) -> None:
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
        )
        await self.repo.add_event(event)
        emit(self.session, LabelMoved(kind=kind, protected=self.is_protected(label)))
        # What the label resolves to changed: MCP clients re-read the prompt list (service/mcp/feed.py).
        emit(self.session, PromptListChanged(org_id, workspace_id, name))

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
