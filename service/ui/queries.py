"""Reads only the web UI needs: the labels of a whole page of names at once, and a name's recent label history. They
use the label service's repository and tenant rule, so they can show nothing the API would refuse."""

from __future__ import annotations

from service.auth.principal import TenantScope
from service.db.models import PromptLabelEvent
from service.db.pagination import check_limit
from service.labels.repository import Target
from service.labels.service import LabelService


class LabelReads:
    def __init__(self, labels: LabelService) -> None:
        self.labels = labels
        self.repo = labels.repo

    async def labels_of_names(self, names: list[str], *, tenant: TenantScope) -> dict[str, list[tuple[Target, str]]]:
        """Stored labels (not `latest`) of several names of one workspace, by name."""
        org_id, workspace_id = tenant.pair()
        found: dict[str, list[tuple[Target, str]]] = {}
        for target in await self.repo.list_labels_of_names(org_id, workspace_id, names) if names else []:
            assert target.label is not None
            found.setdefault(target.label.name, []).append((target, target.label.label))
        return found

    async def name_history(self, name: str, *, tenant: TenantScope, limit: int) -> list[PromptLabelEvent]:
        """The newest moves, rollbacks and deletes of every label of one name."""
        org_id, workspace_id = tenant.pair()
        return await self.repo.name_history(org_id, workspace_id, name, limit=check_limit(limit))
