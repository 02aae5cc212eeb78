"""The prompt cache: one entry per (name, label, version_id), with its ETag and the time it goes stale.

Reads are a dict lookup and one clock comparison (no lock: a dict read is atomic and entries are replaced, never
mutated). Writers replace whole entries. `dump(path)` / `load(path)` keep the cache as JSON, so a deploy can ship the
prompts it was tested with and start (or stay) working while Prompter is unreachable.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import msgspec

from prompter_client.models import Prompt

log = logging.getLogger("prompter_client")

FORMAT = "prompter-client-cache/1"


class Key(NamedTuple):
    name: str
    label: str | None
    version_id: int | None


class Entry:
    __slots__ = ("prompt", "etag", "fresh_until")

    def __init__(self, prompt: Prompt, etag: str | None, fresh_until: float) -> None:
        self.prompt = prompt
        self.etag = etag
        self.fresh_until = fresh_until  # time.monotonic() after which the entry is stale (served, and refreshed)


class _FileEntry(msgspec.Struct):
    name: str
    label: str | None
    version_id: int | None
    etag: str | None
    prompt: Prompt


class _File(msgspec.Struct):
    format: str
    org_id: str | None
    workspace_id: str | None
    saved_at: str
    entries: list[_FileEntry]
    # Whose prompts these are: the server, and the API key that read them (its fingerprint, never the key). With
    # auth on, org_id/workspace_id are unset and the key alone says which tenant the prompts belong to. A file
    # without them (written before they existed) matches no client that has a base URL.
    base_url: str | None = None
    key_fingerprint: str | None = None


def key_fingerprint(api_key: str | None) -> str | None:
    """A stable, one-way name for an API key: HMAC-SHA-256 keyed with the key itself over a fixed label.

    Written into the cache file so a client with another key (another tenant) does not load the prompts; the key
    cannot be recovered from it (keys are long random tokens), and the label keeps the value from matching a plain
    SHA-256 of the key anywhere else."""
    if not api_key:
        return None
    return hmac.new(api_key.encode(), b"prompter-client-cache key fingerprint", hashlib.sha256).hexdigest()


class PromptCache:
    def __init__(
        self,
        *,
        org_id: str | None = None,
        workspace_id: str | None = None,
        base_url: str | None = None,
        key_fingerprint: str | None = None,
    ) -> None:
        self.entries: dict[Key, Entry] = {}
        self._org_id = org_id
        self._workspace_id = workspace_id
        self._base_url = base_url
        self._key_fingerprint = key_fingerprint
        self._write_lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[Key]:
        return iter(list(self.entries))

    def get(self, key: Key) -> Entry | None:
        return self.entries.get(key)

    def put(self, key: Key, prompt: Prompt, etag: str | None, fresh_until: float) -> None:
        self.entries[key] = Entry(prompt, etag, fresh_until)

    def evict(self, key: Key) -> bool:
        """Drop one entry (the server said it is gone); True when there was one."""
        return self.entries.pop(key, None) is not None

    def clear(self) -> None:
        self.entries.clear()

    def dump(self, path: str | os.PathLike[str]) -> int:
        """Write every real entry (fallbacks are not prompts from the server) as JSON; returns how many.

        Atomic: written to a temporary file beside `path`, then renamed, so a reader never sees half a file."""
        path = Path(path)
        entries = [
            _FileEntry(key.name, key.label, key.version_id, entry.etag, entry.prompt)
            for key, entry in list(self.entries.items())
            if not entry.prompt.is_fallback
        ]
        document = _File(
            FORMAT,
            self._org_id,
            self._workspace_id,
            datetime.now(UTC).isoformat(),
            entries,
            base_url=self._base_url,
            key_fingerprint=self._key_fingerprint,
        )
        data = msgspec.json.format(msgspec.json.encode(document), indent=2)
        with self._write_lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return len(entries)

    def load(self, path: str | os.PathLike[str]) -> int:
        """Add the entries of a dumped file, all stale: the first get serves one at once and refreshes it in the
        background (If-None-Match, so an unchanged prompt costs a 304). A missing file loads nothing; an unreadable
        one, or one saved for another server, API key or org/workspace, is skipped with a warning (the cache is
        never required, and another tenant's prompts are never served)."""
        path = Path(path)
        try:
            document = msgspec.json.decode(path.read_bytes(), type=_File)
        except FileNotFoundError:
            return 0
        except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("prompter cache file %s not loaded: %s", path, exc)
            return 0
        if document.format != FORMAT:
            log.warning("prompter cache file %s not loaded: format %r, expected %r", path, document.format, FORMAT)
            return 0
        for mine, theirs, what in (
            (self._org_id, document.org_id, "org_id"),
            (self._workspace_id, document.workspace_id, "workspace_id"),
        ):
            if mine != theirs:
                log.warning(
                    "prompter cache file %s not loaded: saved for %s=%r, this client has %r", path, what, theirs, mine
                )
                return 0
        if document.base_url != self._base_url:
            log.warning(
                "prompter cache file %s not loaded: saved for %r, this client talks to %r",
                path,
                document.base_url,
                self._base_url,
            )
            return 0
        if document.key_fingerprint != self._key_fingerprint:
            log.warning("prompter cache file %s not loaded: saved with another API key (or none)", path)
            return 0
        loaded = 0
        for item in document.entries:
            key = Key(item.name, item.label, item.version_id)
            if key not in self.entries:  # an entry fetched in this process is newer than the file
                self.entries[key] = Entry(item.prompt, item.etag, float("-inf"))
                loaded += 1
        return loaded
