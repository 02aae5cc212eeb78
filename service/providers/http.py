"""The HTTP plumbing every real provider adapter shares.

One pooled `httpx.AsyncClient` per provider, a hard deadline per attempt, bounded retries on 429 that honour
`Retry-After`, and the mapping of every failure to a `ProviderError` child so a provider problem is never a 500:

    timeout (connect, read or the whole attempt)   -> 504 provider_timeout
    429 after the retries, or a Retry-After too long -> 429 provider_rate_limited (with Retry-After)
    401 / 403                                      -> 502 provider_auth (the provider's text is not repeated: OpenAI's
                                                      echoes part of the key)
    5xx, other 4xx, non-JSON body, refused connect -> 502 provider_error ("Could not reach ...")
    connection closed after connecting, mid-answer -> 502 provider_error ("... dropped the connection ...")

The API key lives only in the client's default headers. It is never put in a URL, an exception, a log record or a span,
and any provider text we do repeat is scrubbed of it first.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from service import __version__
from service.errors import ProviderAuth, ProviderError, ProviderRateLimited, ProviderTimeout
from service.settings import Settings

log = logging.getLogger("prompter.providers")

USER_AGENT = f"prompter/{__version__}"
_MESSAGE_LIMIT = 300
# The connection was made and then lost mid-exchange: the server closed it before (or while) sending its answer
# (RemoteProtocolError: "Server disconnected without sending a response" / "peer closed connection without sending
# complete message body"), or the socket broke while reading the answer or writing the request.
_DROPPED = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
# Used when a 429 carries no usable Retry-After: 0.5 s, 1 s, 2 s ... (capped by max_retry_after_s).
_BACKOFF_BASE_S = 0.5


@dataclass(frozen=True, slots=True)
class HTTPPolicy:
    timeout_s: float = 60.0
    max_retries: int = 2
    max_retry_after_s: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> HTTPPolicy:
        return cls(
            settings.providers.timeout_s, max(0, settings.providers.max_retries), settings.providers.max_retry_after_s
        )


class ProviderHTTP:
    """POST JSON to one provider and return the decoded JSON object, or raise the right ProviderError."""

    def __init__(
        self, provider: str, base_url: str, headers: Mapping[str, str], policy: HTTPPolicy, *, secret: str, key_env: str
    ) -> None:
        self.provider = provider
        self.policy = policy
        self.key_env = key_env
        self._secret = secret
        self.host = httpx.URL(base_url).host or base_url
        self.client = httpx.AsyncClient(
            base_url=base_url,
            headers={"user-agent": USER_AGENT, **headers},
            timeout=httpx.Timeout(policy.timeout_s),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            follow_redirects=False,
        )

    async def post_json(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        attempt = 0
        while True:
            response = await self._send(path, body)
            if response.status_code != 429:
                return self._decode(response)
            wait = retry_after_seconds(response.headers)
            gave_up = attempt >= self.policy.max_retries or (wait is not None and wait > self.policy.max_retry_after_s)
            if gave_up:
                retry_after = max(1, math.ceil(wait if wait is not None else self._backoff(attempt)))
                log.warning(
                    "provider rate limited",
                    extra={"provider": self.provider, "attempts": attempt + 1, "retry_after_s": retry_after},
                )
                raise ProviderRateLimited(
                    f"{self.provider} kept answering 429 (rate limited) after {attempt + 1} attempt(s); "
                    f"retry after {retry_after} s.",
                    headers={"Retry-After": str(retry_after)},
                )
            delay = wait if wait is not None else self._backoff(attempt)
            log.info(
                "provider rate limited, retrying",
                extra={"provider": self.provider, "attempt": attempt + 1, "delay_s": round(delay, 3)},
            )
            await asyncio.sleep(delay)
            attempt += 1

    async def aclose(self) -> None:
        await self.client.aclose()

    def _backoff(self, attempt: int) -> float:
        return min(_BACKOFF_BASE_S * 2**attempt, self.policy.max_retry_after_s)

    async def _send(self, path: str, body: dict[str, Any]) -> httpx.Response:
        # httpx's timeouts bound each phase (connect, each read); the outer deadline bounds the whole attempt, so a
        # server that trickles bytes cannot hold a request forever. `from None`: the httpx chain adds nothing the
        # detail does not say, and keeps transport internals out of recorded span exceptions.
        try:
            async with asyncio.timeout(self.policy.timeout_s):
                return await self.client.post(path, json=body)
        except (TimeoutError, httpx.TimeoutException):
            self._log_failure("provider_timeout")
            raise ProviderTimeout(
                f"{self.provider} did not answer within {self.policy.timeout_s:g} s (PROMPTER_PROVIDER_TIMEOUT_S)."
            ) from None
        except _DROPPED as exc:
            # Connected, then the server (or something between) closed the socket before the answer was complete:
            # the host is reachable, so "could not reach" would send the operator to a base URL that is fine.
            self._log_failure("provider_error", transport=type(exc).__name__, dropped=True)
            raise ProviderError(
                f"{self.provider} at {self.host} dropped the connection before its answer was complete "
                f"({type(exc).__name__}). Usually transient (a restart or an overloaded proxy): retry; if it persists, "
                f"check the provider's status and any proxy in between."
            ) from None
        except httpx.HTTPError as exc:
            self._log_failure("provider_error", transport=type(exc).__name__)
            raise ProviderError(
                f"Could not reach {self.provider} at {self.host} ({type(exc).__name__}). "
                f"Check the base URL setting and that the server is up."
            ) from None

    def _decode(self, response: httpx.Response) -> dict[str, Any]:
        status = response.status_code
        if status in (401, 403):
            self._log_failure("provider_auth", status=status)
            raise ProviderAuth(f"{self.provider} rejected the API key (HTTP {status}). Check {self.key_env}.")
        if status >= 400 or status < 200:
            self._log_failure("provider_error", status=status)
            message = self._provider_message(response)
            kind = "failed" if status >= 500 else "rejected the request"
            raise ProviderError(f"{self.provider} {kind} (HTTP {status})" + (f": {message}" if message else "."))
        try:
            data = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict):
            raise self.malformed("the body is not a JSON object")
        return data

    def malformed(self, what: str) -> ProviderError:
        self._log_failure("provider_error", malformed=what)
        return ProviderError(f"{self.provider} sent a malformed response: {what}.")

    def _provider_message(self, response: httpx.Response) -> str:
        """The provider's own error message (all three nest it as error.message), scrubbed of the key, shortened."""
        try:
            data = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return ""
        error = data.get("error") if isinstance(data, dict) else None
        message = error.get("message") if isinstance(error, dict) else error
        if not isinstance(message, str):
            return ""
        return self.scrub(message)[:_MESSAGE_LIMIT]

    def scrub(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text

    def _log_failure(self, code: str, **fields: Any) -> None:
        log.warning("provider call failed", extra={"provider": self.provider, "error_code": code, **fields})


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """Seconds to wait from `retry-after-ms` (OpenAI) or `Retry-After` (delta-seconds or an HTTP date); None if absent."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        seconds = _finite(raw_ms)
        if seconds is not None:
            return seconds / 1000
    raw = headers.get("retry-after")
    if not raw:
        return None
    seconds = _finite(raw)
    if seconds is not None:
        return seconds
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _finite(raw: str) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    return max(0.0, value) if math.isfinite(value) else None


def as_int(value: Any) -> int:
    """Token counts: a missing or odd value counts as 0 rather than failing a call that did succeed."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def drop_none(mapping: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in mapping.items() if value is not None}


def parse_arguments(raw: Any) -> Any:
    """Tool-call arguments: parsed when they are a JSON string (OpenAI's wire form), as they came otherwise."""
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, RecursionError):
            return raw
    return raw
