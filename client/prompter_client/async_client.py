"""`AsyncPrompter`: the asyncio client. Background refreshes are tasks on the running loop; everything else is the
core's, shared with `Prompter`. Use one instance per event loop (its connections belong to that loop)."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from types import TracebackType
from typing import Any

import httpx

from prompter_client.cache import Key, PromptCache
from prompter_client.config import load_config
from prompter_client.core import DEFAULT_LABEL, ClientCore
from prompter_client.errors import PrompterError, PrompterUnavailable
from prompter_client.models import Label, Prompt, RunResult

log = logging.getLogger("prompter_client")

_monotonic = time.monotonic


class AsyncPrompter:
    """The asyncio twin of `Prompter`: same arguments, same cache rules, `await` on every call."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        org_id: str | None = None,
        workspace_id: str | None = None,
        cache_ttl_s: float | None = None,
        timeout_s: float | None = None,
        cache_file: str | os.PathLike[str] | None = None,
        retry_min_s: float = 1.0,
        retry_max_s: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        config = load_config(
            base_url=base_url,
            api_key=api_key,
            org_id=org_id,
            workspace_id=workspace_id,
            cache_ttl_s=cache_ttl_s,
            timeout_s=timeout_s,
            cache_file=cache_file,
            retry_min_s=retry_min_s,
            retry_max_s=retry_max_s,
        )
        self._core = core = ClientCore(config)
        self._entries = core.cache.entries
        self._http = httpx.AsyncClient(transport=transport, **core.client_options())
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    @property
    def cache(self) -> PromptCache:
        return self._core.cache

    async def get_prompt(
        self, name: str, *, label: str | None = None, version_id: int | None = None, fallback: str | None = None
    ) -> Prompt:
        """See `Prompter.get_prompt`: a cached prompt returns without I/O; a stale one starts one refresh task."""
        # A plain tuple: equal to (and hashed like) the cache's Key, and much cheaper to build on the hot path.
        entry = self._entries.get((name, DEFAULT_LABEL if label is None and version_id is None else label, version_id))
        if entry is not None and entry.fresh_until > _monotonic():
            return entry.prompt
        key = Key(name, DEFAULT_LABEL if label is None and version_id is None else label, version_id)
        if label is not None and version_id is not None:
            raise ValueError("pass label= or version_id=, not both")
        if entry is not None:
            if not self._closed and self._core.claim_refresh(key):
                task = asyncio.get_running_loop().create_task(self._refresh(key), name=f"prompter-refresh:{name}")
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            return entry.prompt
        return await self._fetch(key, fallback)

    async def _fetch(self, key: Key, fallback: str | None) -> Prompt:
        core = self._core
        flight, leader = core.join_fetch(key, asyncio.get_running_loop().create_future)
        if leader:
            # Waiters only see the flight, so an error nobody awaits must not be reported as "never retrieved".
            flight.add_done_callback(lambda f: f.cancelled() or f.exception())
            try:
                flight.set_result(await self._request_prompt(key))
            except BaseException as exc:
                if isinstance(exc, PrompterError):
                    core.fetch_failed(key, exc)
                if isinstance(exc, Exception):
                    flight.set_exception(exc)
                else:  # cancelled (or interrupted): the waiters must not hang on a flight nobody will finish
                    flight.set_exception(PrompterUnavailable("unavailable", "the fetching task was cancelled"))
                    raise
            finally:
                core.release(key, flight)
            await self._save_if_changed()
        try:
            return await asyncio.wait_for(asyncio.shield(flight), 4 * core.config.timeout_s + 1)
        except TimeoutError:
            error = PrompterUnavailable("unavailable", f"no answer for {key.name!r} within the wait")
            return core.fallback_for(key, error, fallback)
        except PrompterError as exc:
            return core.fallback_for(key, exc, fallback)

    async def _request_prompt(self, key: Key) -> Prompt:
        try:
            response = await self._http.request(**self._core.prompt_request(key))
        except httpx.HTTPError as exc:
            raise self._core.transport_failed(exc) from exc
        return self._core.prompt_answered(key, response)

    async def _refresh(self, key: Key) -> None:
        core = self._core
        try:
            await self._request_prompt(key)
        except PrompterError as exc:
            core.refresh_failed(key, exc)
        except Exception:  # noqa: BLE001 - a refresh must never die silently, nor take the app down
            log.exception("prompter refresh of %r failed unexpectedly", key.name)
        finally:
            core.release(key)
        await self._save_if_changed()

    async def _save_if_changed(self) -> None:
        if self._core.config.cache_file is not None:
            await asyncio.to_thread(self._core.save_if_changed)  # file I/O off the event loop

    async def run(
        self,
        name: str,
        *,
        label: str | None = None,
        variables: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> RunResult:
        """See `Prompter.run`."""
        try:
            response = await self._http.request(**self._core.run_request(name, label, variables, idempotency_key))
        except httpx.HTTPError as exc:
            raise self._core.transport_failed(exc) from exc
        return self._core.run_answered(response)

    async def set_label(self, name: str, label: str, version_id: int, *, reason: str | None = None) -> Label:
        """See `Prompter.set_label`."""
        try:
            response = await self._http.request(**self._core.label_request(name, label, version_id, reason))
        except httpx.HTTPError as exc:
            raise self._core.transport_failed(exc) from exc
        return self._core.label_answered(response)

    async def aclose(self) -> None:
        """Cancel background refreshes, write the cache file, close the connections."""
        self._closed = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._save_if_changed()
        await self._http.aclose()

    async def __aenter__(self) -> AsyncPrompter:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
