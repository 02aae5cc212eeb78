"""The idempotency service's dependency and its request header, as the HTTP layer provides them."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.di import NamedDependency, Provide
from litestar.params import HeaderParameter
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.guard import current_principal
from service.idempotency.service import IdempotencyService, RequestShape

# The request header, documented in the OpenAPI of every operation that honours it. Printable ASCII only: a key is an
# opaque token the client generates (a UUID is the usual choice).
IdempotencyKeyHeader = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x20-\x7e]+$",
        description="Retry-safe: the same key with the same request returns the first answer without repeating the "
        "work (24 h, per tenant); with a different request → 422 idempotency_key_reused.",
    ),
]


def request_shape(request: Request[Any, Any, Any]) -> RequestShape:
    return RequestShape(
        method=request.method,
        path=request.url.path,
        query=list(request.query_params.multi_items()),
        success_status=request.route_handler.status_code or 200,
    )


def provide_idempotency(session: NamedDependency[AsyncSession], request: Request[Any, Any, Any]) -> IdempotencyService:
    return IdempotencyService(session, current_principal(request), request_shape(request))


DEPENDENCIES = {"idempotency": Provide(provide_idempotency, sync_to_thread=False)}
