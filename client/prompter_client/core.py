"""The one core both clients share: keys, requests, response handling, the cache's freshness rules, single flight,
back-off after failures and the outage warning. It does no I/O; `AsyncPrompter` (and `Prompter`, generated from it)
only send the requests it describes and run refreshes on a task or a thread.

The rules (for one key = name + label or version):
- fresh entry (younger than the TTL): served from memory, no request;
- stale entry: served at once, and one background refresh starts unless one is running or the key is backing off
  after a failure; it sends If-None-Match, so an unchanged prompt costs a 304;
- no entry: the caller fetches (concurrent callers of one key share one request); if Prompter cannot answer,
  `PrompterUnavailable`, or the caller's `fallback=` text (then kept as a stale entry, replaced once Prompter answers).
A failed refresh (refused, timeout, 5xx, 429, or any error answer but 404) keeps the entry, logs one warning (per
outage, or per key for an error answer) and backs off: retry_min_s doubling up to retry_max_s, at least the server's
Retry-After. A 404 on a refresh drops the entry, a fallback included: the server says it is gone, so it is no longer
served (the next call asks again and raises `PromptNotFound`).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import msgspec

from prompter_client import __version__
from prompter_client.cache import Key, PromptCache, key_fingerprint
from prompter_client.config import ClientConfig
from prompter_client.errors import (
    PrompterError,
    PrompterUnavailable,
    PromptNotFound,
    RateLimited,
    error_from_response,
    unavailable,
)
from prompter_client.models import (
    Label,
    Prompt,
    PromptArchive,
    PromptDeletion,
    RevisionArchive,
    RunResult,
    VersionArchive,
    fallback_prompt,
)
from prompter_client.tracing import trace_headers

log = logging.getLogger("prompter_client")

F = TypeVar("F")

DEFAULT_LABEL = "production"
# Marks a key whose stale entry is being refreshed in the background (cold fetches register their shared future).
_REFRESHING = object()

_decode_prompt = msgspec.json.Decoder(Prompt).decode
_decode_run = msgspec.json.Decoder(RunResult).decode
_decode_label = msgspec.json.Decoder(Label).decode
# What each archivable thing's archive/unarchive routes answer, and the path they hang off.
_ARCHIVE_ROUTES: dict[str, tuple[str, type[Any]]] = {
    "prompt": ("/api/prompts/{}", PromptArchive),
    "revision": ("/api/prompt-templates/{}", RevisionArchive),
    "version": ("/api/versions/{}", VersionArchive),
}
_decode_deletion = msgspec.json.Decoder(PromptDeletion).decode


class ClientCore:
    def __init__(
        self,
        config: ClientConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.config = config
        self.ttl = config.cache_ttl_s
        self.cache = PromptCache(
            org_id=config.org_id,
            workspace_id=config.workspace_id,
            base_url=config.base_url,
            key_fingerprint=key_fingerprint(config.api_key),
        )
        self.clock = clock
        self._jitter = jitter
        self._lock = threading.Lock()
        self._flights: dict[Key, Any] = {}
        self._retry: dict[Key, tuple[int, float]] = {}  # key -> (consecutive failures, next attempt at)
        self._outage_since: float | None = None
        self._warned: set[Key] = set()
        self._dirty = False
        if config.cache_file is not None:
            loaded = self.cache.load(config.cache_file)
            log.debug("loaded %d prompts from %s", loaded, config.cache_file)

    # -- what to send ------------------------------------------------------------------------------------------------

    def client_options(self) -> dict[str, Any]:
        """Arguments for httpx.Client / httpx.AsyncClient."""
        headers = {"user-agent": f"prompter-client/{__version__}", "accept": "application/json"}
        if self.config.api_key:
            headers["authorization"] = f"Bearer {self.config.api_key}"
        return {"base_url": self.config.base_url, "headers": headers, "timeout": self.config.timeout_s}

    def lookup_key(self, name: str, label: str | None, version_id: int | None) -> Key:
        """The cache key of one `get_prompt` call: `label` defaults to `production` unless a version is asked for.

        A plain tuple (equal to, and hashed like, the `Key` it stands for) because every call builds one and a
        NamedTuple costs twice as much to build; `key()` is the same rule as a `Key`."""
        if version_id is None:
            return (name, DEFAULT_LABEL if label is None else label, None)  # type: ignore[return-value]
        if label is not None:
            raise ValueError("pass label= or version_id=, not both")
        return (name, None, version_id)  # type: ignore[return-value]

    def key(self, name: str, label: str | None, version_id: int | None) -> Key:
        return Key._make(self.lookup_key(name, label, version_id))

    def _tenant(self) -> dict[str, str]:
        tenant = {}
        if self.config.org_id:
            tenant["org_id"] = self.config.org_id
        if self.config.workspace_id:
            tenant["workspace_id"] = self.config.workspace_id
        return tenant

    def prompt_request(self, key: Key) -> dict[str, Any]:
        params: dict[str, Any] = self._tenant()
        if key.version_id is not None:
            params["version_id"] = key.version_id
        else:
            params["label"] = key.label
        headers = trace_headers()
        entry = self.cache.get(key)
        if entry is not None and entry.etag:
            headers["if-none-match"] = entry.etag
        return {
            "method": "GET",
            "url": f"/api/prompts/{quote(key.name, safe='')}",
            "params": params,
            "headers": headers,
        }

    def run_request(
        self,
        name: str,
        label: str | None,
        variables: dict[str, Any] | None,
        idempotency_key: str | None,
        key: str | None = None,
    ) -> dict[str, Any]:
        body = {"variables": variables or {}, **self._tenant()}
        if key is not None:
            body["key"] = key
        headers = trace_headers()
        if idempotency_key is not None:
            headers["idempotency-key"] = idempotency_key
        return {
            "method": "POST",
            "url": f"/api/prompts/{quote(name, safe='')}/run",
            "params": {"label": label or DEFAULT_LABEL},
            "json": body,
            "headers": headers,
        }

    def split_request(
        self,
        name: str,
        label: str,
        split: list[dict[str, int]],
        policy: dict[str, Any] | None,
        reason: str | None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"split": split, **self._tenant()}
        if policy is not None:
            body["policy"] = policy
        if reason is not None:
            body["reason"] = reason
        return {
            "method": "PUT",
            "url": f"/api/prompts/{quote(name, safe='')}/labels/{quote(label, safe='')}",
            "json": body,
            "headers": trace_headers(),
        }

    def label_request(self, name: str, label: str, version_id: int, reason: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"version_id": version_id, **self._tenant()}
        if reason is not None:
            body["reason"] = reason
        path = f"/api/prompts/{quote(name, safe='')}/labels/{quote(label, safe='')}"
        return {"method": "PUT", "url": path, "json": body, "headers": trace_headers()}

    def archive_request(self, kind: str, key: str | int, archived: bool) -> dict[str, Any]:
        """`kind`: prompt (key = name), revision (template id) or version (version id)."""
        path = _ARCHIVE_ROUTES[kind][0].format(quote(str(key), safe=""))
        params = self._tenant() if kind == "prompt" else {}
        action = "archive" if archived else "unarchive"
        return {"method": "POST", "url": f"{path}/{action}", "params": params, "headers": trace_headers()}

    def archive_answered(self, kind: str, response: httpx.Response) -> Any:
        if response.status_code != 200:
            raise error_from_response(response)
        return msgspec.json.decode(response.content, type=_ARCHIVE_ROUTES[kind][1])

    def delete_request(self, name: str, confirm: str, reason: str | None) -> dict[str, Any]:
        params: dict[str, Any] = {**self._tenant(), "confirm": confirm}
        if reason is not None:
            params["reason"] = reason
        url = f"/api/prompts/{quote(name, safe='')}"
        return {"method": "DELETE", "url": url, "params": params, "headers": trace_headers()}

    def delete_answered(self, response: httpx.Response) -> PromptDeletion:
        if response.status_code != 200:
            raise error_from_response(response)
        return _decode_deletion(response.content)

    # -- single flight -----------------------------------------------------------------------------------------------

    def claim_refresh(self, key: Key) -> bool:
        """True when the caller should start the background refresh of this stale key (at most one at a time)."""
        if key in self._flights:  # unlocked pre-check: the common answer while a refresh runs
            return False
        with self._lock:
            if key in self._flights:
                return False
            retry = self._retry.get(key)
            if retry is not None and retry[1] > self.clock():
                return False
            self._flights[key] = _REFRESHING
            return True

    def join_fetch(self, key: Key, new_flight: Callable[[], F]) -> tuple[F, bool]:
        """The shared flight of a cold fetch, and whether the caller leads it (sends the request)."""
        with self._lock:
            flight = self._flights.get(key)
            if flight is not None and flight is not _REFRESHING:
                return flight, False
            flight = new_flight()
            self._flights[key] = flight
            return flight, True

    def release(self, key: Key, flight: Any = _REFRESHING) -> None:
        with self._lock:
            if self._flights.get(key) is flight:
                del self._flights[key]

    # -- what came back ----------------------------------------------------------------------------------------------

    def prompt_answered(self, key: Key, response: httpx.Response) -> Prompt:
        """200: store and return the prompt; 304: the cached one is current again; anything else: the typed error."""
        status = response.status_code
        if status == 304:
            entry = self.cache.get(key)
            if entry is None:
                raise PrompterError("unexpected_not_modified", "304 for a prompt that is not cached", status)
            self.cache.put(key, entry.prompt, entry.etag, self.clock() + self.ttl)
            self._succeeded(key)
            return entry.prompt
        if status != 200:
            raise error_from_response(response)
        try:
            prompt = _decode_prompt(response.content)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise PrompterError("invalid_response", f"GET {response.request.url.path}: {exc}", status) from None
        if self.ttl > 0:
            self.cache.put(key, prompt, response.headers.get("etag"), self.clock() + self.ttl)
            self._dirty = True
        self._succeeded(key)
        return prompt

    def transport_failed(self, exc: httpx.HTTPError) -> PrompterUnavailable:
        return unavailable(exc, self.config.base_url)

    def refresh_failed(self, key: Key, error: PrompterError) -> None:
        """A background refresh failed: the stale entry stays; back off; warn once. Except a 404: the server says
        the prompt (or label, or version) is gone for this key, so the entry (a fallback too) is dropped and the
        next call asks the server again, which raises `PromptNotFound` while it stays gone."""
        if isinstance(error, PromptNotFound):
            self._evict(key, error)
            return
        self._back_off(key, error)
        if self._note_outage(error):
            return
        if key not in self._warned:
            self._warned.add(key)
            log.warning(
                "refreshing prompt %r (%s) failed: %s; serving the cached prompt and retrying with back-off",
                key.name,
                key.label or f"version {key.version_id}",
                error,
            )

    def fetch_failed(self, key: Key, error: PrompterError) -> None:
        """A first fetch failed (the caller gets the error or its fallback): count it for back-off and the warning."""
        if isinstance(error, PrompterUnavailable | RateLimited):
            self._back_off(key, error)
            self._note_outage(error)

    def fallback_for(self, key: Key, error: PrompterError, fallback: str | None) -> Prompt:
        """The caller's fallback when Prompter could not serve a first fetch; otherwise re-raise the error.

        Only for "could not answer" (unreachable, timeout, 5xx, 429): a 404 or 401 is a mistake to fix, not an outage
        to ride out, so it is raised even with a fallback. The fallback is kept as a stale entry: later calls get it at
        once and the background refresh replaces it when Prompter answers."""
        if fallback is None or not isinstance(error, PrompterUnavailable | RateLimited):
            raise error
        entry = self.cache.get(key)
        if entry is not None:  # another caller's fallback (or a fetch that landed meanwhile) is already there
            return entry.prompt
        prompt = fallback_prompt(key.name, key.label, fallback)
        if self.ttl > 0:
            self.cache.put(key, prompt, None, float("-inf"))
        return prompt

    def run_answered(self, response: httpx.Response) -> RunResult:
        if response.status_code not in (200, 201):
            raise error_from_response(response)
        result = _decode_run(response.content)
        if response.headers.get("idempotent-replayed") == "true":
            result = msgspec.structs.replace(result, replayed=True)
        return result

    def label_answered(self, response: httpx.Response) -> Label:
        if response.status_code != 200:
            raise error_from_response(response)
        return _decode_label(response.content)

    # -- back-off, the outage warning, the cache file ----------------------------------------------------------------

    def retry_state(self, key: Key) -> tuple[int, float] | None:
        """(consecutive failures, monotonic time of the next attempt), or None when the key is healthy."""
        return self._retry.get(key)

    def _back_off(self, key: Key, error: PrompterError) -> None:
        with self._lock:
            failures = self._retry.get(key, (0, 0.0))[0] + 1
            delay = min(self.config.retry_max_s, self.config.retry_min_s * 2 ** min(failures - 1, 30))
            delay = delay / 2 + delay / 2 * self._jitter()  # jitter, so many clients do not retry in step
            if isinstance(error, RateLimited) and error.retry_after:
                delay = max(delay, error.retry_after)
            self._retry[key] = (failures, self.clock() + delay)

    def _note_outage(self, error: PrompterError) -> bool:
        if not isinstance(error, PrompterUnavailable):
            return False
        with self._lock:
            first = self._outage_since is None
            if first:
                self._outage_since = self.clock()
        if first:
            log.warning(
                "Prompter at %s is unavailable (%s); serving cached prompts and retrying with back-off",
                self.config.base_url,
                error,
            )
        return True

    def _evict(self, key: Key, error: PrompterError) -> None:
        if not self.cache.evict(key):
            return
        with self._lock:
            self._retry.pop(key, None)
            self._warned.discard(key)
            self._dirty = True  # the cache file must not bring it back either
        log.warning(
            "prompt %r (%s) is gone: %s; dropped from the cache",
            key.name,
            key.label or f"version {key.version_id}",
            error,
        )

    def _succeeded(self, key: Key) -> None:
        if self._retry.pop(key, None) is not None:
            self._warned.discard(key)
        if self._outage_since is None:  # unlocked pre-check: the common case
            return
        with self._lock:
            since, self._outage_since = self._outage_since, None
        if since is not None:
            log.info("Prompter at %s answers again after %.1f s", self.config.base_url, self.clock() - since)

    def save_if_changed(self) -> None:
        """Write the cache file (when configured) if a fetch changed an entry since the last write."""
        if self.config.cache_file is None or not self._dirty:
            return
        self._dirty = False
        try:
            self.cache.dump(self.config.cache_file)
        except OSError as exc:
            log.warning("prompter cache file %s not written: %s", self.config.cache_file, exc)
