"""POST /api/observations, POST /v1/traces (OTLP/HTTP) and GET /api/prompts/{name}/labels/{label}/stats.

Built per app (`observation_routes(settings)`): the body limits come from PROMPTER_OBSERVATIONS_MAX_BYTES."""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter

from service.auth.guard import INGEST, current_principal
from service.auth.principal import TenantScope, request_tenant
from service.http.errors import InvalidInput, PrompterError, Unprocessable
from service.labels.handlers import Label, Name
from service.observations import otlp
from service.observations.schemas import IngestResult, ItemFate, LabelStats, ObservationBatch, ObservationItem
from service.observations.service import (
    MAX_WINDOW_S,
    IngestBatch,
    Ingested,
    Malformed,
    ObservationService,
    ReportedCall,
    StatsQuery,
)
from service.settings import Settings

WINDOW_PATTERN = r"^([1-9][0-9]{0,6})([smhd])$"
WINDOW = re.compile(WINDOW_PATTERN)
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class TooManyObservations(PrompterError):
    status, code = 413, "too_many_observations"


def parse_window(window: str) -> int:
    """`15m`, `1h`, `7d` -> seconds. Not that shape: 400 (the schema says so too); longer than 30 days: 422."""
    match = WINDOW.match(window)
    if match is None:
        raise InvalidInput(
            f"window={window[:40]!r} is not a duration: a number and s, m, h or d (e.g. 15m, 1h, 7d).",
            code="invalid_window",
        )
    seconds = int(match.group(1)) * _UNIT_S[match.group(2)]
    if seconds > MAX_WINDOW_S:
        raise Unprocessable(f"window={window!r} is longer than 30d, the longest stats window.", code="invalid_window")
    return seconds


def to_call(raw: Any) -> ReportedCall | Malformed:
    try:
        item = msgspec.convert(raw, ObservationItem, strict=True)
    except msgspec.ValidationError as exc:
        obs_id = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
        return Malformed(obs_id[:128] if obs_id else None, f"Invalid observation: {exc}.")
    usage = item.usage
    return ReportedCall(
        obs_id=item.id,
        provider=item.provider,
        prompt=item.prompt,
        label=item.label,
        version_id=item.version_id,
        model_id=item.model_id,
        reported=item.reported,
        latency_ms=item.latency_ms,
        input_tokens=usage.input_tokens if usage is not None else None,
        output_tokens=usage.output_tokens if usage is not None else None,
        finish_reason=item.finish_reason,
        error_type=item.error,
        trace_id=item.trace_id,
        span_id=item.span_id,
    )


def result_of(ingested: Ingested) -> IngestResult:
    items = [ItemFate(f.obs_id, f.status, f.error, f.detail) for f in ingested.fates]
    return IngestResult(
        accepted=ingested.count("accepted"),
        duplicate=ingested.count("duplicate"),
        rejected=ingested.count("rejected"),
        items=items,
    )


def observation_routes(settings: Settings) -> list[type[Controller]]:
    limits = settings.observations

    class ObservationController(Controller):
        path = "/api/observations"
        tags = ["observations"]

        @post(
            "/",
            status_code=200,
            summary="Report provider calls the application made itself; each item's fate (accepted, duplicate, "
            "rejected with a code)",
            request_max_body_size=limits.max_bytes,
            opt={INGEST: True},
        )
        async def ingest(
            self,
            request: Request[Any, Any, Any],
            data: JSONBody[ObservationBatch],
            observations: NamedDependency[ObservationService],
        ) -> IngestResult:
            if len(data.items) > limits.max_items:
                raise TooManyObservations(
                    f"{len(data.items)} items in one batch; at most {limits.max_items} "
                    "(PROMPTER_OBSERVATIONS_MAX_ITEMS). Split the batch."
                )
            org_id, workspace_id = request_tenant(current_principal(request), data.org_id, data.workspace_id)
            batch = IngestBatch(org_id, workspace_id, "api", [to_call(raw) for raw in data.items])
            return result_of(await observations.ingest(batch))

    class OTLPController(Controller):
        path = "/v1"
        tags = ["observations"]

        @post(
            "/traces",
            status_code=200,
            summary="OTLP/HTTP trace export (protobuf or JSON, gzip): spans naming a prompt become observations",
            request_max_body_size=limits.max_bytes,
            # Specified by OpenTelemetry (OTLP/HTTP), not by this API's OpenAPI document.
            include_in_schema=False,
            opt={INGEST: True},
        )
        async def traces(
            self,
            request: Request[Any, Any, Any],
            observations: NamedDependency[ObservationService],
            tenant: NamedDependency[TenantScope],
        ) -> Response[bytes]:
            kind = otlp.media_type(request.headers.get("content-type"))
            data = otlp.decompress(await request.body(), request.headers.get("content-encoding"), limits.max_bytes)
            export = otlp.parse(data, kind, limits.max_items)
            rejected, message = 0, ""
            if export.calls:
                ingested = await observations.ingest(IngestBatch(*tenant.pair(), "otlp", list(export.calls)))
                failures = [f for f in ingested.fates if f.status == "rejected"]
                rejected = len(failures)
                if failures:
                    message = "; ".join(sorted({f"{f.error}: {f.detail}" for f in failures}))[:1000]
            return Response(otlp.response_body(kind, rejected, message), media_type=kind, status_code=200)

    class LabelStatsController(Controller):
        path = "/api/prompts"
        tags = ["observations"]

        @get(
            "/{name:str}/labels/{label:str}/stats",
            summary="Calls, errors, latency, tokens and identity changes per version served through a label, from "
            "runs and observations",
        )
        async def stats(
            self,
            name: Name,
            label: Label,
            observations: NamedDependency[ObservationService],
            tenant: NamedDependency[TenantScope],
            window: Annotated[
                str,
                Parameter(
                    min_length=2, max_length=8, pattern=WINDOW_PATTERN, description="e.g. 15m, 1h, 7d (at most 30d)"
                ),
            ] = "1h",
        ) -> LabelStats:
            query = StatsQuery(tenant, name, label, parse_window(window))
            traffic = await observations.stats(query)
            return msgspec.convert(traffic, LabelStats, from_attributes=True)

    return [ObservationController, OTLPController, LabelStatsController]
