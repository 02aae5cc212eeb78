from __future__ import annotations

from datetime import datetime
from typing import Any

from msgspec import Struct

from service.db.models import PromptVersion
from service.http.schemas import ModelId, Params, ProviderName, reject_nul


class EnsureVersionRequest(Struct, forbid_unknown_fields=True):
    provider: ProviderName
    model_id: ModelId
    params: Params | None = None
    refresh: bool = False  # true = bypass the probe cache and ask the provider now (check for drift immediately)

    def __post_init__(self) -> None:
        reject_nul(provider=self.provider, model_id=self.model_id)


class VersionOut(Struct):
    id: int
    template_id: int
    provider: str
    model_id: str
    params: dict[str, Any]
    pvk: str
    captured: dict[str, Any]
    created: bool
    drift: bool
    created_at: datetime

    @classmethod
    def of(cls, row: PromptVersion, *, created: bool = False) -> VersionOut:
        return cls(
            id=row.id,
            template_id=row.template_id,
            provider=row.provider,
            model_id=row.model_id,
            params=dict(row.params),
            pvk=row.pvk,
            captured=dict(row.captured),
            created=created,
            drift=row.drift,
            created_at=row.created_at,
        )


class VersionList(Struct):
    items: list[VersionOut]
