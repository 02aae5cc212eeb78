"""A per-process cache of the one mapping a run looks up every time: (template, pvk) -> its version.

A version is immutable once committed: its pvk is the sha256 of everything it is pinned to (template content, provider,
model, params, captured identity, bundle) and (template_id, pvk) is unique. So the row a pvk names never changes; it
can only stop existing. `find_or_create` asks the cache before the database and fills it only after the transaction
that read or created the row committed (a rolled-back insert is never cached).

Rules:
- **Bounded.** At most `size` entries, least recently used evicted first; `size=0` turns the cache off.
- **Tenant-keyed.** The key is (org_id, workspace_id, template_id, pvk), taken from the already tenant-checked
  template, and an entry is served only for a template of that same tenant: a version of one workspace is never
  handed to another, even if template ids were reused across databases or a caller passed a foreign template.
- **Deletion.** Whatever deletes or archives versions calls `forget_template` (or `clear`) after its commit, so this
  process never serves the row again. Other processes learn of it on their next run of that version: the result row
  references the version by foreign key, so a stale entry cannot produce a dangling result, it makes the run fail
  once (the insert's foreign-key error), and the run service then `forget`s the entry, so the next run reads the
  database again.
- Entries are the columns, not ORM objects: each hit builds a fresh detached `PromptVersion`, so no two sessions or
  requests ever share one instance.
"""

from __future__ import annotations

from collections import OrderedDict
from copy import deepcopy
from typing import Any

from sqlalchemy.orm import make_transient_to_detached

from service.db.models import PromptTemplate, PromptVersion

DEFAULT_SIZE = 4096  # a few KB each (captured identity, params, bundle): a few MB at most

Key = tuple[str, str, int, str]
_COLUMNS = tuple(column.key for column in PromptVersion.__table__.columns)


def _key(template: PromptTemplate, pvk: str) -> Key:
    return (template.org_id, template.workspace_id, template.id, pvk)


def _copy(value: Any) -> Any:
    return deepcopy(value) if isinstance(value, dict | list) else value


class VersionCache:
    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        if size < 0:
            raise ValueError("size must be >= 0")
        self.size = size
        self._entries: OrderedDict[Key, dict[str, Any]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, template: PromptTemplate, pvk: str) -> PromptVersion | None:
        """A fresh detached copy of the committed version (template, pvk), or None."""
        key = _key(template, pvk)
        columns = self._entries.get(key)
        if columns is None:
            return None
        self._entries.move_to_end(key)
        # JSON columns are copied: a request that changed its version's params must not change the cached entry.
        version = PromptVersion(**{name: _copy(value) for name, value in columns.items()})
        make_transient_to_detached(version)  # as if loaded by a session that has since closed
        return version

    def put(self, template: PromptTemplate, version: PromptVersion) -> None:
        """Remember a committed version of this (tenant-checked) template."""
        if self.size == 0 or version.template_id != template.id or version.id is None:
            return
        key = _key(template, version.pvk)
        self._entries[key] = {name: _copy(getattr(version, name)) for name in _COLUMNS}
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def forget(self, tenant: tuple[str, str], template_id: int, pvk: str) -> None:
        """Drop one entry. Takes plain values: a failed flush has expired the template's attributes by then."""
        self._entries.pop((tenant[0], tenant[1], template_id, pvk), None)

    def forget_template(self, template_id: int) -> None:
        """Drop every entry of a template (its versions were deleted or archived)."""
        for key in [key for key in self._entries if key[2] == template_id]:
            del self._entries[key]

    def clear(self) -> None:
        self._entries.clear()
