"""Versions, whole: find or create the version pinned to a reported identity, flagging drift when the identity differs
from the newest version of the same lineage. A run pins to what its own completion reported (`find_or_create`);
ensure-version is the explicit pin before traffic: probe the provider (through the probe cache), then the same."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.db.engine import IntegrityConflict, begin_write, emit, end_reads, on_commit
from service.db.models import PromptTemplate, PromptVersion
from service.providers import ProviderRegistry
from service.providers.base import GenerationParams
from service.providers.identity import Captured, canonical_model_id
from service.versions.bundle import NO_BUNDLE, Bundle, check_bundle
from service.versions.cache import VersionCache
from service.versions.probe import IdentityProbe
from service.versions.pvk import params_key, prompt_version_key
from service.versions.repository import VersionRepository
from service.webhooks.outbox import Outbox, add_event, prompt_subject
from telemetry import Telemetry
from telemetry.events import ModelDrifted, PromptListChanged


class VersionService:
    def __init__(
        self,
        session: AsyncSession,
        providers: ProviderRegistry,
        probe: IdentityProbe,
        telemetry: Telemetry,
        repo: VersionRepository | None = None,
        *,
        max_schema_bytes: int = 64 * 1024,
        cache: VersionCache | None = None,
        outbox: Outbox = add_event,
    ) -> None:
        self.outbox = outbox  # webhook events, in the caller's transaction (unit tests on fakes pass a recorder)
        self.max_schema_bytes = max_schema_bytes  # PROMPTER_MAX_SCHEMA_BYTES
        self.cache = cache  # the process's (template, pvk) -> version cache (service/versions/cache.py); None: off
        self.session = session
        self.repo = repo or VersionRepository(session)
        self.providers = providers
        self.probe = probe
        self.telemetry = telemetry

    def bundle(self, tools: Any, tool_choice: Any, response_format: Any) -> Bundle:
        """The validated bundle (400 naming the path of anything malformed)."""
        return check_bundle(tools, tool_choice, response_format, max_schema_bytes=self.max_schema_bytes)

    async def ensure(
        self,
        template: PromptTemplate,
        provider: str,
        model_id: str,
        params: GenerationParams,
        *,
        refresh: bool = False,
        bundle: Bundle = NO_BUNDLE,
    ) -> tuple[PromptVersion, bool]:
        """Probe (or read the probe cache) and return (version, created)."""
        self.providers.get(provider)  # unknown provider -> 422 before any work
        model_id = canonical_model_id(provider, model_id)
        tenant = (template.org_id, template.workspace_id)  # its share of the model-id labels
        with self.telemetry.ensure_version(template.id, provider, model_id, tenant) as step:
            # No transaction is held while the provider answers.
            await end_reads(self.session)
            identity = await self.probe.capture(provider, model_id, params, refresh=refresh)
            await begin_write(self.session)
            version, created = await self.find_or_create(template, provider, model_id, params, identity, bundle)
            step.outcome(created=created, drift=version.drift)
            return version, created

    async def find_or_create(
        self,
        template: PromptTemplate,
        provider: str,
        model_id: str,
        params: GenerationParams,
        identity: Captured,
        bundle: Bundle = NO_BUNDLE,
    ) -> tuple[PromptVersion, bool]:
        """The version of (template, provider, model_id, params) pinned to `identity`: (version, created). Runs inside
        the caller's write transaction (`begin_write`); `model_id` is canonical (`canonical_model_id`)."""
        params_dict = params.as_dict()
        captured = dict(identity)
        bundle_dict = bundle.as_dict()
        pvk = prompt_version_key(
            content_hash=template.content_hash,
            provider=provider,
            model_id=model_id,
            params=params_dict,
            captured=captured,
            bundle=bundle_dict,
        )
        cache = self.cache
        if cache is not None:
            cached = cache.get(template, pvk)
            if cached is not None:
                return cached, False
        existing = await self.repo.by_pvk(template.id, pvk)
        if existing is not None:
            self._remember(template, existing)
            return existing, False
        # The bundle is part of the lineage: another tool set is another prompt, not drift of this one.
        lineage_key = params_key(params_dict, bundle_dict)
        previous = await self.repo.newest_in_lineage(template.id, provider, model_id, lineage_key)
        drift = previous is not None and previous.captured != captured
        version = PromptVersion(
            template_id=template.id,
            provider=provider,
            model_id=model_id,
            params=params_dict,
            params_hash=lineage_key,
            captured=captured,
            pvk=pvk,
            drift=drift,
            tools=bundle.tools,
            tool_choice=bundle.tool_choice,
            response_format=bundle.response_format,
        )
        try:
            await self.repo.insert(version)
        except IntegrityConflict:
            # A concurrent request created the same version first: it is the one to return (and it counted drift).
            winner = await self.repo.by_pvk(template.id, pvk)
            if winner is None:
                raise
            self._remember(template, winner)
            return winner, False
        if drift:
            emit(self.session, ModelDrifted(provider, model_id))
        await self._publish(template, version, previous if drift else None)
        # A name's first version makes it resolvable (`latest`), a newer one may move `latest`: MCP clients re-list.
        emit(self.session, PromptListChanged(template.org_id, template.workspace_id, template.name))
        self._remember(template, version)
        return version, True

    async def _publish(
        self, template: PromptTemplate, version: PromptVersion, drifted_from: PromptVersion | None
    ) -> None:
        """The webhook events of a new version, in its transaction: prompt.version_created, and model_identity.changed
        when the provider reported another identity than the lineage's newest version (with the labels it affects)."""
        tenant = {"org_id": template.org_id, "workspace_id": template.workspace_id}
        subject = prompt_subject(template.name)
        common = {
            "prompt": template.name,
            "template_id": template.id,
            "revision": template.revision,
            "provider": version.provider,
            "model_id": version.model_id,
        }
        await self.outbox(
            self.session,
            **tenant,
            type="prompt.version_created",
            subject=subject,
            data={**common, "version_id": version.id, "identity": version.captured, "drift": version.drift},
        )
        if drifted_from is None:
            return
        labels = await self.repo.labels_on_lineage(template, version.provider, version.model_id, version.params_hash)
        await self.outbox(
            self.session,
            **tenant,
            type="model_identity.changed",
            subject=subject,
            data={
                **common,
                "previous_version_id": drifted_from.id,
                "version_id": version.id,
                "old_identity": drifted_from.captured,
                "new_identity": version.captured,
                "labels": labels,
            },
        )

    def forget(self, tenant: tuple[str, str], template_id: int, pvk: str) -> None:
        """This process must read (template, pvk) from the database again (a write that used it failed)."""
        if self.cache is not None:
            self.cache.forget(tenant, template_id, pvk)

    def _remember(self, template: PromptTemplate, version: PromptVersion) -> None:
        # Once committed, never before: a rolled-back insert must not be served from the cache.
        cache = self.cache
        if cache is not None:
            on_commit(self.session, lambda: cache.put(template, version))

    async def list_for_template(
        self, template: PromptTemplate, *, include_archived: bool = True
    ) -> list[PromptVersion]:
        return await self.repo.list_for_template(template.id, include_archived=include_archived)

    async def list_for_templates(
        self, templates: list[PromptTemplate], *, include_archived: bool = True
    ) -> list[PromptVersion]:
        if not templates:
            return []
        ids = [template.id for template in templates]
        return await self.repo.list_for_templates(ids, include_archived=include_archived)
