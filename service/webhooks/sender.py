"""One delivery attempt over HTTP: sign the body per Standard Webhooks, POST it to the address the SSRF rule checked,
and say how it ended. Never raises for the receiver's failures (a dead, slow or rude receiver is an outcome)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from standardwebhooks import Webhook

from service import __version__
from service.webhooks.urls import Target

USER_AGENT = f"Prompter-Webhooks/{__version__}"


@dataclass(frozen=True, slots=True)
class Attempt:
    outcome: str  # one of telemetry.contract.WEBHOOK_OUTCOMES
    seconds: float
    status_code: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "success"


def signed_headers(secret: str, event_id: str, body: bytes, now: datetime | None = None) -> dict[str, str]:
    """webhook-id, webhook-timestamp and webhook-signature (v1, HMAC-SHA256 of `id.timestamp.body`)."""
    when = datetime.fromtimestamp(int((now or datetime.now(UTC)).timestamp()), UTC)
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook(secret).sign(event_id, when, body),
    }


def request_for(target: Target, client: httpx.AsyncClient, body: bytes, headers: dict[str, str]) -> httpx.Request:
    """The POST, sent to the checked address with the URL's own host in Host (and as TLS SNI, so certificates are
    checked against the name, not the address)."""
    url = httpx.URL(target.url)
    pinned = url.copy_with(host=target.address)
    request = client.build_request(
        "POST",
        pinned,
        content=body,
        headers={
            **headers,
            "host": url.netloc.decode("ascii"),
            "content-type": "application/json",
            "user-agent": USER_AGENT,
        },
        extensions={"sni_hostname": target.host} if target.scheme == "https" else {},
    )
    return request


async def send(
    client: httpx.AsyncClient, target: Target, body: bytes, headers: dict[str, str], *, timeout_s: float
) -> Attempt:
    start = time.perf_counter()
    try:
        # The whole attempt is bounded, not only each socket read: a receiver trickling bytes cannot hold a slot.
        async with asyncio.timeout(timeout_s):
            response = await client.send(request_for(target, client, body, headers), stream=True)
            await response.aclose()  # the body is not read: nothing a receiver sends back is used
    except (TimeoutError, httpx.TimeoutException):
        return Attempt("timeout", time.perf_counter() - start, error=f"no answer within {timeout_s:g} s")
    except (httpx.HTTPError, OSError) as exc:
        return Attempt("connection_error", time.perf_counter() - start, error=f"{type(exc).__name__}: {exc}"[:500])
    seconds = time.perf_counter() - start
    if 200 <= response.status_code < 300:
        return Attempt("success", seconds, response.status_code)
    return Attempt("http_error", seconds, response.status_code, error=f"HTTP {response.status_code}")
