"""Retiring prompts, whole: archive and unarchive a prompt name, a revision (template) or a version; delete a whole
name (admins only, confirmed by repeating the name).

Archived things are hidden from lists unless asked for (`include_archived`) and may not be newly labelled
(service/labels/service.py asks `labellable_refusal` from service/archive/repository.py's locks); archiving what a
label points at is refused, naming the labels. Resolving and running are unchanged for what is not archived.

Deleting keeps the results (snapshot fields, not tombstones): every result of the name keeps its own copy of what
was run - the rendered prompt or messages, variables, provider, model, pvk, output, label - and gains deletion_id,
deleted_template_id and deleted_version_id; the revisions, versions and labels are removed, so the name can be created
again from scratch and no list or resolve has to learn to skip dead rows. The deletion is recorded in prompt_deletions
(who, when, why, every revision and version removed) and every label it removed gets a `delete` event in the label
history, which is the deployment record and is kept.

Like every service it flushes and never commits: all of one operation is one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.archive import rules
from service.archive.repository import ArchiveRepository
from service.auth.principal import Principal, TenantScope
from service.db.engine import IntegrityConflict, emit, on_commit
from service.db.label_history import stack_top
from service.db.models import (
    PromptDeletion,
    PromptLabelEvent,
    PromptName,
    PromptTemplate,
    PromptVersion,
    is_storable_id,
    utcnow,
)
from service.db.pagination import Page, check_limit, decode_cursor, page_of
from service.errors import Forbidden, NotFound
from service.versions.cache import VersionCache
from service.webhooks.outbox import Outbox, add_event, label_event, prompt_subject
from telemetry.events import LabelMoved, PromptListChanged

ANONYMOUS = "anonymous"
DELETED_REASON = "prompt deleted"


@dataclass(frozen=True, slots=True)
class NameState:
    org_id: str
    workspace_id: str
    name: str
    archived_at: datetime | None
    archived_by: str | None


class RetireService:
    def __init__(
        self,
        session: AsyncSession,
        principal: Principal | None = None,
        protected: frozenset[str] = frozenset(),
        outbox: Outbox = add_event,
        version_cache: VersionCache | None = None,
    ) -> None:
        self.session = session
        self.version_cache = (
            version_cache  # this process's (template, pvk) -> version cache (service/versions/cache.py)
        )
        self.outbox = outbox  # webhook events, in the change's own transaction (service/webhooks/outbox.py)
        self.protected = protected  # PROMPTER_PROTECTED_LABELS: how a removed label is counted (LabelMoved)
        self.repo = ArchiveRepository(session)
        self.principal = principal

    @property
    def actor(self) -> str:
        return self.principal.key_id if self.principal is not None else ANONYMOUS

    @property
    def may_archive(self) -> bool:
        return self.principal is None or self.principal.can_write

    @property
    def may_delete(self) -> bool:
        return self.principal is None or self.principal.is_admin

    # -- names -----------------------------------------------------------------------------------------------------
    async def name_state(self, name: str, *, tenant: TenantScope) -> NameState:
        org_id, workspace_id = tenant.pair()
        if not await self.repo.name_exists(org_id, workspace_id, name):
            raise _no_name(name, workspace_id)
        row = await self.repo.get_name(org_id, workspace_id, name)
        return NameState(org_id, workspace_id, name, row.archived_at if row else None, row.archived_by if row else None)

    async def archived_names(self, org_id: str, workspace_id: str, names: list[str]) -> set[str]:
        """Which of these names (rows a page already read, so the caller's own) are archived."""
        return await self.repo.archived_names(org_id, workspace_id, names) if names else set()

    async def archive_name(self, name: str, *, tenant: TenantScope) -> NameState:
        """Hide the name and everything in it from lists. Refused while labels point into it (they serve traffic)."""
        org_id, workspace_id = tenant.pair()
        if not await self.repo.lock_templates_of_name(org_id, workspace_id, name):
            raise _no_name(name, workspace_id)
        labels = await self.repo.labels_of(org_id, workspace_id, name)
        if labels:
            raise rules.refuse_labelled(rules.NAME, f"prompt {name!r}", labels)
        row = await self._name_row(org_id, workspace_id, name)
        if row.archived_at is None:
            row.archived_at, row.archived_by = utcnow(), self.actor
            await self.repo.flush()
            await self._emit_retirement_event("prompt.archived", org_id, workspace_id, name, part=rules.NAME)
            emit(self.session, PromptListChanged(org_id, workspace_id, name))
        return _state(row)

    async def unarchive_name(self, name: str, *, tenant: TenantScope) -> NameState:
        org_id, workspace_id = tenant.pair()
        if not await self.repo.lock_templates_of_name(org_id, workspace_id, name):
            raise _no_name(name, workspace_id)
        row = await self.repo.get_name(org_id, workspace_id, name)
        if row is None or row.archived_at is None:
            return NameState(org_id, workspace_id, name, None, None)
        row.archived_at, row.archived_by = None, None
        await self.repo.flush()
        await self._emit_retirement_event("prompt.unarchived", org_id, workspace_id, name, part=rules.NAME)
        emit(self.session, PromptListChanged(org_id, workspace_id, name))
        return _state(row)

    async def _name_row(self, org_id: str, workspace_id: str, name: str) -> PromptName:
        row = await self.repo.get_name(org_id, workspace_id, name)
        if row is not None:
            return row
        try:
            return await self.repo.insert_name(PromptName(org_id=org_id, workspace_id=workspace_id, name=name))
        except IntegrityConflict:  # created by a concurrent archive of the same name: use that one
            found = await self.repo.get_name(org_id, workspace_id, name)
            assert found is not None
            return found

    # -- revisions -------------------------------------------------------------------------------------------------
    async def archive_revision(self, template_id: int, *, archived: bool) -> PromptTemplate:
        template = await self._owned_template(template_id)
        org_id, workspace_id, name = template.org_id, template.workspace_id, template.name
        if archived:
            labels = await self.repo.labels_of(org_id, workspace_id, name, template_id=template.id)
            if labels:
                raise rules.refuse_labelled(rules.REVISION, f"revision {template.revision} of {name!r}", labels)
        if (template.archived_at is not None) != archived:
            template.archived_at, template.archived_by = (utcnow(), self.actor) if archived else (None, None)
            await self.repo.flush()
            kind = "prompt.archived" if archived else "prompt.unarchived"
            await self._emit_retirement_event(
                kind, org_id, workspace_id, name, part=rules.REVISION, target_id=template.id
            )
            emit(self.session, PromptListChanged(org_id, workspace_id, name))  # `latest` may resolve elsewhere now
        return template

    async def _owned_template(self, template_id: int) -> PromptTemplate:
        template = await self.repo.lock_template(template_id) if is_storable_id(template_id) else None
        # Another tenant's template answers exactly like a missing one: existence must not leak.
        if template is None or (self.principal and not self.principal.owns(template.org_id, template.workspace_id)):
            raise NotFound(f"No prompt template with id {template_id}.", code="template_not_found")
        return template

    # -- versions --------------------------------------------------------------------------------------------------
    async def archive_version(self, version_id: int, *, archived: bool) -> PromptVersion:
        found = await self.repo.lock_version(version_id) if is_storable_id(version_id) else None
        if found is None or (self.principal and not self.principal.owns(found[1].org_id, found[1].workspace_id)):
            raise NotFound(f"No version with id {version_id}.", code="version_not_found")
        version, template = found
        org_id, workspace_id, name = template.org_id, template.workspace_id, template.name
        if archived:
            labels = await self.repo.labels_of(org_id, workspace_id, name, version_id=version.id)
            if labels:
                raise rules.refuse_labelled(rules.VERSION, f"version {version.id} of {name!r}", labels)
        if (version.archived_at is not None) != archived:
            version.archived_at, version.archived_by = (utcnow(), self.actor) if archived else (None, None)
            await self.repo.flush()
            kind = "prompt.archived" if archived else "prompt.unarchived"
            await self._emit_retirement_event(
                kind, org_id, workspace_id, name, part=rules.VERSION, target_id=version.id
            )
            emit(self.session, PromptListChanged(org_id, workspace_id, name))
        return version

    # -- deletion --------------------------------------------------------------------------------------------------
    async def delete_name(
        self, name: str, *, tenant: TenantScope, confirm: str | None, reason: str | None = None
    ) -> PromptDeletion:
        """Remove every revision, version and label of the name; keep its results and record the deletion."""
        org_id, workspace_id = tenant.pair()
        if not self.may_delete:
            raise Forbidden(
                "Deleting a prompt needs an `admin` key; this one has the "
                f"`{self.principal.role if self.principal else ''}` role. Archive it instead (needs `write`), or ask "
                "an admin.",
                code="forbidden_role",
            )
        templates = await self.repo.lock_templates_of_name(org_id, workspace_id, name)
        if not templates:
            raise _no_name(name, workspace_id)
        rules.check_confirmation(name, confirm)
        versions = await self.repo.versions_of([t.id for t in templates])
        labels = await self.repo.stored_labels(org_id, workspace_id, name)
        record = PromptDeletion(
            org_id=org_id,
            workspace_id=workspace_id,
            name=name,
            actor=self.actor,
            reason=reason,
            removed=_manifest(templates, versions),
            labels=[label.label for label in labels],
            results_kept=0,
        )
        await self.repo.add(record)
        template_ids = [t.id for t in templates]
        record.results_kept = await self.repo.detach_results(record.id, template_ids)
        for label in labels:
            await self._record_label_delete(label.org_id, label.workspace_id, name, label.label, label.version_id)
        await self.repo.delete_name_rows(org_id, workspace_id, name, template_ids)
        await self.repo.flush()
        await self._emit_retirement_event(
            "prompt.deleted", org_id, workspace_id, name, part=rules.NAME, target_id=record.id
        )
        emit(self.session, PromptListChanged(org_id, workspace_id, name))
        cache = self.version_cache
        if cache is not None:  # once committed: SQLite may hand a deleted template's id to the next one created

            def forget() -> None:
                for template_id in template_ids:
                    cache.forget_template(template_id)

            on_commit(self.session, forget)
        return record

    async def deletions(self, *, tenant: TenantScope, limit: int, cursor: str | None) -> Page[PromptDeletion]:
        """The record of every prompt deleted in the workspace, newest first."""
        org_id, workspace_id = tenant.pair()
        rows = await self.repo.deletions(
            org_id, workspace_id, before_id=decode_cursor(cursor), limit=check_limit(limit) + 1
        )
        return page_of(rows, limit)

    async def _record_label_delete(
        self, org_id: str, workspace_id: str, name: str, label: str, version_id: int
    ) -> None:
        latest = await self.repo.latest_label_event(org_id, workspace_id, name, label)
        event = PromptLabelEvent(
            org_id=org_id,
            workspace_id=workspace_id,
            name=name,
            label=label,
            kind="delete",
            from_version_id=version_id,
            to_version_id=None,
            stack_parent_id=stack_top(latest),
            actor=self.actor,
            reason=DELETED_REASON,
        )
        await self.repo.add(event)
        emit(self.session, LabelMoved(kind="delete", protected=label in self.protected))
        # The same label.deleted event as a delete through the labels API (LabelService._record).
        await self.outbox(self.session, **label_event(event))  # the label.deleted of LabelService._record

    # -- events ----------------------------------------------------------------------------------------------------
    async def _emit_retirement_event(
        self, kind: str, org_id: str, workspace_id: str, name: str, *, part: str, target_id: int | None = None
    ) -> None:
        """prompt.archived / prompt.unarchived / prompt.deleted, in the transaction of the change it reports.
        `part` is name, revision or version; `target_id` the template, version or deletion record id."""
        await self.outbox(
            self.session,
            org_id=org_id,
            workspace_id=workspace_id,
            type=kind,
            subject=prompt_subject(name),
            data={"prompt": name, "part": part, "id": target_id, "actor": self.actor},
        )


def _state(row: PromptName) -> NameState:
    return NameState(row.org_id, row.workspace_id, row.name, row.archived_at, row.archived_by)


def _manifest(templates: list[PromptTemplate], versions: list[PromptVersion]) -> list[dict[str, object]]:
    by_template: dict[int, list[dict[str, object]]] = {t.id: [] for t in templates}
    for v in versions:
        by_template[v.template_id].append({"id": v.id, "provider": v.provider, "model_id": v.model_id, "pvk": v.pvk})
    return [
        {"template_id": t.id, "revision": t.revision, "content_hash": t.content_hash, "versions": by_template[t.id]}
        for t in templates
    ]


def _no_name(name: str, workspace_id: str) -> NotFound:
    return NotFound(f"No prompt named {name!r} in workspace {workspace_id!r}.", code="template_not_found")
