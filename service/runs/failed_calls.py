"""Failed runs through a split label, kept where the rollout worker counts an arm's errors: as an observation
(source `run`, with its error type) written in a short transaction of its own. The request's own transaction rolls back
with the error it answers; without this a canary whose provider fails would look healthy to its rollout."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.db.models import utcnow
from service.db.transactions import WriteQueue, unit_of_work
from service.labels.drift import count_labelled_call
from service.labels.repository import Target
from service.observations.repository import ObservationRepository

log = logging.getLogger("prompter.runs")
SOURCE = "run"


class FailedCalls:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        queue: WriteQueue | None,
        publish: Callable[[object], None] | None,
    ) -> None:
        self.sessions = sessions
        self.queue = queue
        self.publish = publish

    async def record(
        self, target: Target, label: str, error_code: str, latency_ms: float, trace_id: str | None
    ) -> None:
        """Never raises: the caller is already answering the provider's error."""
        version, template = target.version, target.template
        row = {
            "org_id": template.org_id,
            "workspace_id": template.workspace_id,
            "obs_id": f"run-{uuid.uuid4().hex}",
            "source": SOURCE,
            "name": template.name,
            "label": label,
            "label_version_id": version.id,
            "version_id": version.id,
            "provider": version.provider,
            "model_id": version.model_id,
            "identity_matches_label": None,
            "latency_ms": round(latency_ms, 3),
            "input_tokens": None,
            "output_tokens": None,
            "finish_reason": None,
            "error_type": error_code[:64],
            "trace_id": trace_id,
            "span_id": None,
            "variant": target.variant,
            "received_at": utcnow(),
        }
        try:
            async with unit_of_work(self.sessions, self.queue, publish=self.publish) as session:
                await ObservationRepository(session).insert_new([row])
                count_labelled_call(
                    session,
                    label=label,
                    provider=version.provider,
                    matches=None,
                    latency_ms=None,
                    error=True,
                    variant=target.variant,
                )
        except Exception:  # noqa: BLE001 - a failed record must not replace the error the caller answers
            log.exception("could not record a failed run through split label %r", label)
