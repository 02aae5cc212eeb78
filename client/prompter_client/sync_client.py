"""`Prompter`: the blocking client.

GENERATED from async_client.py by client/scripts/generate_sync_client.py: edit async_client.py and run the
script, never this file.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import httpx

from prompter_client._concurrency import Background, Flight
from prompter_client.cache import Key, PromptCache
from prompter_client.config import load_config
from prompter_client.core import ClientCore
from prompter_client.errors import PrompterError, PrompterUnavailable
from prompter_client.models import (
    Label,
    Prompt,
    PromptArchive,
    PromptDeletion,
    RevisionArchive,
    RunResult,
    VersionArchive,
)

log = logging.getLogger("prompter_client")


class Prompter:
    """Fetch prompts by name + label, cached (see the module `prompter_client.core` for the rules); run them.

    Arguments fall back to the environment: PROMPTER_BASE_URL (default http://localhost:8000), PROMPTER_API_KEY,
    PROMPTER_ORG_ID / PROMPTER_WORKSPACE_ID (needed when the server runs with auth off), PROMPTER_CACHE_TTL_S
    (default 60; 0 = no cache), PROMPTER_TIMEOUT_S (default 5). `clock` (monotonic seconds) decides freshness and
    back-off; tests pass their own.

    `Prompter` blocks and refreshes on a small thread pool (thread-safe; share one instance). `AsyncPrompter` is
    awaited and refreshes in tasks on the running loop (use one instance per event loop: its connections belong to
    that loop). Both follow the same rules."""

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
        max_refresh_threads: int = 4,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
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
        self._core = core = ClientCore(config, clock=clock)
        # The fast path (a fresh entry) reads these directly: one bound-method call, one dict lookup, one clock read.
        self._lookup_key = core.lookup_key
        self._clock = clock
        self._entries = core.cache.entries
        self._http = httpx.Client(transport=transport, **core.client_options())
        self._background = Background(max_refresh_threads)
        self._tasks = self._background.pending  # the running refreshes (a live set)
        self._closed = False

    @property
    def cache(self) -> PromptCache:
        return self._core.cache

    def get_prompt(
        self,
        name: str,
        *,
        label: str | None = None,
        version_id: int | None = None,
        fallback: str | None = None,
        key: str | None = None,
    ) -> Prompt:
        """The prompt `name` at `label` (default `production`) or at `version_id`. A cached prompt is returned at
        once, even a stale one (which starts one background refresh); only a first fetch waits for the server.

        A split label answers one of its arms: the one `key` (a user or session id) always gets, or a random one
        without a key, picked locally from the cached split with the server's hash (`Prompt.arm_for`)."""
        found = self._lookup_key(name, label, version_id)
        entry = self._entries.get(found)
        if entry is not None and entry.fresh_until > self._clock():
            prompt = entry.prompt
            return prompt if prompt.split is None else prompt.arm_for(key)
        cache_key = Key._make(found)
        if entry is None:
            prompt = self._fetch(cache_key, fallback)
            return prompt if prompt.split is None else prompt.arm_for(key)
        if not self._closed and self._core.claim_refresh(cache_key):
            if not self._background.submit(self._refresh, cache_key, name=f"prompter-refresh:{name}"):
                self._core.release(cache_key)
        prompt = entry.prompt
        return prompt if prompt.split is None else prompt.arm_for(key)

    def _fetch(self, key: Key, fallback: str | None) -> Prompt:
        core = self._core
        flight: Flight[Prompt]
        flight, leader = core.join_fetch(key, Flight)
        if leader:
            try:
                flight.set_result(self._request_prompt(key))
            except Exception as exc:
                if isinstance(exc, PrompterError):
                    core.fetch_failed(key, exc)
                flight.set_exception(exc)
            except BaseException:  # cancelled or interrupted: the waiters must not hang on a flight nobody finishes
                flight.set_exception(PrompterUnavailable("unavailable", "the fetching call was interrupted"))
                raise
            finally:
                core.release(key, flight)
            self._save_if_changed()
        try:
            return flight.wait(4 * core.config.timeout_s + 1)
        except TimeoutError:
            error = PrompterUnavailable("unavailable", f"no answer for {key.name!r} within the wait")
            return core.fallback_for(key, error, fallback)
        except PrompterError as exc:
            return core.fallback_for(key, exc, fallback)

    def _request_prompt(self, key: Key) -> Prompt:
        try:
            response = self._http.request(**self._core.prompt_request(key))
        except httpx.HTTPError as exc:
            raise self._core.transport_failed(exc) from exc
        return self._core.prompt_answered(key, response)

    def _refresh(self, key: Key) -> None:
        core = self._core
        try:
            self._request_prompt(key)
        except PrompterError as exc:
            core.refresh_failed(key, exc)
        except Exception:  # noqa: BLE001 - a refresh must never die silently, nor take the app down
            log.exception("prompter refresh of %r failed unexpectedly", key.name)
        finally:
            core.release(key)
        self._save_if_changed()

    def _save_if_changed(self) -> None:
        if self._core.config.cache_file is not None:
            self._background.offload(self._core.save_if_changed)

    def run(
        self,
        name: str,
        *,
        label: str | None = None,
        variables: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        key: str | None = None,
    ) -> RunResult:
        """Run the prompt on the server through `label` (default `production`): its version's provider, model and
        params. Not cached and not retried (a run calls the LLM and stores a result). With `idempotency_key=` (one
        per logical run, e.g. a UUID) a retry after `PrompterUnavailable` is safe: the server answers a repeat with the
        first run's result (`result.replayed` is then true) instead of running again. On a split label the run uses
        the arm `key` gets (`result.variant`), as `get_prompt(..., key=)` does."""
        try:
            request = self._core.run_request(name, label, variables, idempotency_key, key)
            response = self._http.request(**request)
        except httpx.HTTPError as exc:
            raise self._core.transport_failed(exc) from exc
        return self._core.run_answered(response)

    def set_label(self, name: str, label: str, version_id: int, *, reason: str | None = None) -> Label:
        """Point `label` of `name` at `version_id` (roll out / roll back); protected labels need an admin key."""
        try:
            response = self._http.request(**self._core.label_request(name, label, version_id, reason))
        except httpx.HTTPError as exc:
            raise self._core.transport_failed(exc) from exc
        return self._core.label_answered(response)

    def archive_prompt(self, name: str) -> PromptArchive:
        """Archive the prompt `name`: hidden from lists, its versions may not be newly labelled. `Conflict`
        (`archive_labelled`, `.extra["labels"]`) while labels point into it. Needs a write key."""
        return self._archive("prompt", name, True)

    def unarchive_prompt(self, name: str) -> PromptArchive:
        return self._archive("prompt", name, False)

    def archive_revision(self, template_id: int) -> RevisionArchive:
        """Archive one revision (template id); refused (`Conflict`) while a label points at one of its versions."""
        return self._archive("revision", template_id, True)

    def unarchive_revision(self, template_id: int) -> RevisionArchive:
        return self._archive("revision", template_id, False)

    def archive_version(self, version_id: int) -> VersionArchive:
        """Archive one version; refused (`Conflict`) while a label points at it."""
        return self._archive("version", version_id, True)

    def unarchive_version(self, version_id: int) -> VersionArchive:
        return self._archive("version", version_id, False)

    def _archive(self, kind: str, key: str | int, archived: bool) -> Any:
        try:
            response = self._http.request(**self._core.archive_request(kind, key, archived))
        except httpx.HTTPError as exc:
            raise self._core.transport_failed(exc) from exc
        return self._core.archive_answered(kind, response)

    def delete_prompt(self, name: str, *, confirm: str, reason: str | None = None) -> PromptDeletion:
        """Delete the prompt `name` with every revision, version and label; its results are kept. Not undoable:
        `confirm` must repeat the name. Needs an admin key (`Forbidden` otherwise)."""
        try:
            response = self._http.request(**self._core.delete_request(name, confirm, reason))
        except httpx.HTTPError as exc:
            raise self._core.transport_failed(exc) from exc
        return self._core.delete_answered(response)

    def set_split(
        self,
        name: str,
        label: str,
        split: list[dict[str, int]],
        *,
        policy: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> Label:
        """Point `label` at weighted arms `[{"version_id", "weight"}, ...]` (baseline first, weights summing to 100),
        optionally with a rollout `policy` the server then follows (docs: how-to/rollouts)."""
        try:
            response = self._http.request(**self._core.split_request(name, label, split, policy, reason))
        except httpx.HTTPError as exc:
            raise self._core.transport_failed(exc) from exc
        return self._core.label_answered(response)

    def close(self) -> None:
        """Stop background refreshes (tasks are cancelled; the thread pool finishes the running ones), write the
        cache file, close the connections."""
        self._closed = True
        self._background.shutdown()
        self._save_if_changed()
        self._http.close()

    def __enter__(self) -> Prompter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
