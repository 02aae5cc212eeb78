"""What each UI page shows, assembled from the domain services (templates, versions, runs, auth): no SQL here, and
every tenant and role rule is the services' own, so a page can show nothing the API would refuse."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from anyio import to_thread

from service.archive.service import RetireService
from service.auth.principal import Principal, TenantScope
from service.auth.service import AuthFailure, KeyService
from service.db.models import PromptResult, PromptTemplate, PromptVersion
from service.db.pagination import Page
from service.diffs.messages import chat_text
from service.labels.schemas import LabelEventOut, LabelOut
from service.labels.service import LabelService
from service.runs.repository import ResultSummary
from service.runs.service import RunService
from service.settings import Settings
from service.templates.service import TemplateService
from service.ui import chart, diff
from service.ui.queries import LabelReads
from service.versions.service import VersionService
from telemetry import Telemetry

PAGE_SIZE = 50
# The login form's words for a refused key: what the person should do, not which header the API wanted.
LOGIN_REFUSALS = {
    "missing": "Paste an API key to log in: the whole key, as `prompter keys create` printed it (pk_…).",
    "malformed": "That is not an API key. Paste the whole key, as `prompter keys create` printed it (it starts with "
    "pk_).",
    "unknown": "This API key is not valid. Paste a valid API key of your workspace, or create one with "
    "`prompter keys create`.",
    "revoked": "This API key has been revoked. Ask an admin of your workspace for a new API key.",
}
REVISIONS_SHOWN = 50
HISTORY_SHOWN = 30


@dataclass(frozen=True, slots=True)
class PromptRow:
    org_id: str
    workspace_id: str
    name: str
    newest_revision: int
    newest_id: int
    last_run_at: datetime | None
    labels: list[LabelOut] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)  # "archived" (shown with include_archived)

    @property
    def drift(self) -> bool:
        return any(label.drift for label in self.labels)


@dataclass(frozen=True, slots=True)
class PromptList:
    rows: list[PromptRow]
    search: str
    next_after: str | None
    include_archived: bool = False


@dataclass(frozen=True, slots=True)
class RevisionView:
    template: PromptTemplate
    previous_revision: int | None
    diff: diff.Diff | None
    variables_added: list[str]
    variables_removed: list[str]


@dataclass(frozen=True, slots=True)
class VersionGroup:
    """The versions of one provider/model, newest first; `drift` when the newest one's identity moved."""

    provider: str
    model_id: str
    versions: list[PromptVersion]
    revisions: dict[int, int] = field(default_factory=dict)  # template id -> revision number

    @property
    def drift(self) -> bool:
        return self.versions[0].drift


@dataclass(frozen=True, slots=True)
class PromptView:
    org_id: str
    workspace_id: str
    name: str
    revisions: list[RevisionView]
    version_groups: list[VersionGroup]
    chart: chart.Chart
    labels: list[LabelOut]
    changeable: set[str]  # labels the caller may move / roll back
    may_move: bool  # the caller may point some label at a version (the move form)
    history: list[LabelEventOut]

    @property
    def drift(self) -> bool:
        """A label's pinned identity is no longer what the provider reports (else: any lineage drifted)."""
        if self.labels:
            return any(label.drift for label in self.labels)
        return any(group.drift for group in self.version_groups)

    @property
    def versions(self) -> list[tuple[PromptVersion, int]]:
        """Every shown version with its revision number, newest first (the move form's choices)."""
        rows = [(v, group.revisions.get(v.template_id, 0)) for group in self.version_groups for v in group.versions]
        return sorted(rows, key=lambda row: row[0].id, reverse=True)


@dataclass(frozen=True, slots=True)
class ResultView:
    result: PromptResult
    template: PromptTemplate
    trace_link: str | None


class UIService:
    def __init__(
        self,
        *,
        templates: TemplateService,
        versions: VersionService,
        runs: RunService,
        labels: LabelService,
        keys: KeyService,
        settings: Settings,
        telemetry: Telemetry,
        diffs: diff.DiffCache | None = None,
        retire: RetireService | None = None,
    ) -> None:
        self.templates = templates
        self.versions = versions
        self.runs = runs
        self.labels = labels
        self.label_reads = LabelReads(labels)
        self.keys = keys
        self.settings = settings
        self.telemetry = telemetry
        self.diffs = diffs or diff.DiffCache()
        self.retire = retire

    async def login(self, api_key: str) -> Principal:
        """Check a key typed into the login form (any role may log in: a `read` key gets a read-only UI)."""
        try:
            return await self.keys.authenticate(f"Bearer {api_key.strip()}")
        except AuthFailure as failure:
            self.telemetry.record_auth_failure(failure.reason)
            detail = LOGIN_REFUSALS.get(failure.reason, failure.detail)
            raise AuthFailure(failure.reason, detail) from None

    async def prompt_list(
        self, *, search: str, after: str | None, tenant: TenantScope, include_archived: bool = False
    ) -> PromptList:
        names, last_runs = await self.templates.list_names(
            tenant=tenant, search=search or None, after=after, limit=PAGE_SIZE, include_archived=include_archived
        )
        more = len(names) > PAGE_SIZE
        names = names[:PAGE_SIZE]
        rows = [
            PromptRow(
                org_id=row.org_id,
                workspace_id=row.workspace_id,
                name=row.name,
                newest_revision=row.newest_revision,
                newest_id=row.newest_id,
                last_run_at=last_runs.get((row.org_id, row.workspace_id, row.name)),
            )
            for row in names
        ]
        await self._attach_labels(rows)
        if include_archived:
            await self._mark_archived(rows)
        next_after = names[-1].name if more and names else None
        return PromptList(rows=rows, search=search, next_after=next_after, include_archived=include_archived)

    async def _mark_archived(self, rows: list[PromptRow]) -> None:
        """The archived badge of the list with include_archived (service/ui/retire.py has the forms)."""
        if self.retire is None:
            return
        by_tenant: dict[tuple[str, str], list[PromptRow]] = defaultdict(list)
        for row in rows:
            by_tenant[row.org_id, row.workspace_id].append(row)
        for (org_id, workspace_id), tenant_rows in by_tenant.items():
            archived = await self.retire.archived_names(org_id, workspace_id, [row.name for row in tenant_rows])
            for row in tenant_rows:
                if row.name in archived:
                    row.flags.add("archived")

    async def _attach_labels(self, rows: list[PromptRow]) -> None:
        by_tenant: dict[tuple[str, str], list[PromptRow]] = defaultdict(list)
        for row in rows:
            by_tenant[row.org_id, row.workspace_id].append(row)
        for (org_id, workspace_id), tenant_rows in by_tenant.items():
            found = await self.label_reads.labels_of_names(
                [row.name for row in tenant_rows], tenant=self._scope(org_id, workspace_id)
            )
            for row in tenant_rows:
                row.labels.extend(
                    LabelOut.of(target, label, protected=self.labels.is_protected(label))
                    for target, label in found.get(row.name, [])
                )

    def _scope(self, org_id: str, workspace_id: str) -> TenantScope:
        """The tenant of rows this page already read (they are the caller's, or any with auth off)."""
        return TenantScope(self.labels.principal, org_id, workspace_id)

    async def prompt(
        self, name: str, *, tenant: TenantScope, now: datetime | None = None, include_archived: bool = False
    ) -> PromptView:
        revisions = await self.templates.revisions(
            name, tenant=tenant, limit=REVISIONS_SHOWN, include_archived=include_archived
        )
        if not revisions:  # every revision is archived: show them rather than nothing
            revisions = await self.templates.revisions(name, tenant=tenant, limit=REVISIONS_SHOWN)
        versions = await self.versions.list_for_templates(revisions, include_archived=include_archived)
        now = now or datetime.now(UTC)
        counts, p95s = await self.runs.hourly_activity(revisions, chart.window_start(now))
        found_in = self._scope(revisions[0].org_id, revisions[0].workspace_id)
        labels = [
            LabelOut.of(target, label, protected=self.labels.is_protected(label))
            for target, label in await self.labels.list(name, tenant=found_in)
        ]
        history = await self.label_reads.name_history(name, tenant=found_in, limit=HISTORY_SHOWN)
        return PromptView(
            org_id=revisions[0].org_id,
            workspace_id=revisions[0].workspace_id,
            name=name,
            revisions=await to_thread.run_sync(_revision_views, revisions, diff.PageDiffs(self.diffs)),
            version_groups=_version_groups(versions, revisions),
            chart=chart.activity(counts, p95s, now),
            labels=labels,
            changeable={label.label for label in labels if self.labels.may_change(label.label)},
            may_move=self.labels.principal is None or self.labels.principal.can_write,
            history=[LabelEventOut.of(event) for event in history],
        )

    async def move_label(
        self,
        name: str,
        label: str,
        version_id: int,
        *,
        reason: str | None,
        tenant: TenantScope,
    ) -> None:
        await self.labels.move(name, label, version_id, tenant=tenant, reason=reason or None)

    async def roll_back_label(self, name: str, label: str, *, reason: str | None, tenant: TenantScope) -> None:
        await self.labels.rollback(name, label, tenant=tenant, reason=reason or None)

    async def results(
        self,
        *,
        name: str | None,
        label: str | None,
        tenant: TenantScope,
        cursor: str | None,
    ) -> Page[ResultSummary]:
        return await self.runs.recent(name=name, label=label, tenant=tenant, limit=PAGE_SIZE, cursor=cursor)

    async def result(self, result_id: int) -> ResultView:
        result = await self.runs.get(result_id)  # 404 for another tenant's result, as in the API
        template = await self.templates.get(result.template_id)
        return ResultView(result=result, template=template, trace_link=self.trace_link(result.trace_id))

    def trace_link(self, trace_id: str | None) -> str | None:
        return trace_link(self.settings, trace_id)


def trace_link(settings: Settings, trace_id: str | None) -> str | None:
    """The tracing backend's page of a trace (PROMPTER_TRACE_URL), or None."""
    if not trace_id or not settings.ui.trace_url:
        return None
    return settings.ui.trace_url.replace("{trace_id}", trace_id)


def _revision_views(revisions: list[PromptTemplate], diffs: diff.PageDiffs) -> list[RevisionView]:
    """Newest first; each against the revision before it (the oldest shown has nothing to compare with). Runs in a
    worker thread; each pair's diff is budgeted and cached (service/ui/diff.py)."""
    views = []
    for index, template in enumerate(revisions):
        previous = revisions[index + 1] if index + 1 < len(revisions) else None
        if previous is None:
            views.append(RevisionView(template, None, None, [], []))
            continue
        views.append(
            RevisionView(
                template,
                previous.revision,
                diffs.between(
                    previous.id,
                    template.id,
                    chat_text(previous.messages) if previous.messages else previous.body,
                    chat_text(template.messages) if template.messages else template.body,
                    old_name=f"revision {previous.revision}",
                    new_name=f"revision {template.revision}",
                ),
                [v for v in template.variables if v not in previous.variables],
                [v for v in previous.variables if v not in template.variables],
            )
        )
    return views


def _version_groups(versions: list[PromptVersion], revisions: list[PromptTemplate]) -> list[VersionGroup]:
    by_model: dict[tuple[str, str], list[PromptVersion]] = defaultdict(list)
    for version in versions:  # newest first already
        by_model[version.provider, version.model_id].append(version)
    numbers = {template.id: template.revision for template in revisions}
    return [VersionGroup(provider, model_id, rows, numbers) for (provider, model_id), rows in sorted(by_model.items())]


def identity_of(captured: dict[str, Any]) -> str:
    """The one identity value a version was pinned to, for display ("–" when the provider reported none)."""
    values = [str(value) for value in captured.values() if value]
    return ", ".join(values) if values else "–"
