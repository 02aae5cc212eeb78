"""The per-process (template, pvk) -> version cache: bounded, keyed by tenant, never shares an instance."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from service.db.models import PromptTemplate, PromptVersion
from service.versions.cache import VersionCache


def template(template_id: int, org: str = "acme", workspace: str = "support") -> PromptTemplate:
    return PromptTemplate(id=template_id, org_id=org, workspace_id=workspace, name="greet", body="Hi", variables=[])


def version(version_id: int, template_id: int, pvk: str) -> PromptVersion:
    return PromptVersion(
        id=version_id,
        template_id=template_id,
        provider="openai",
        model_id="gpt-4o",
        params={"temperature": 0.2},
        params_hash="sha256:p",
        captured={"system_fingerprint": "fp_1", "model": "gpt-4o"},
        pvk=pvk,
        drift=False,
    )


def test_a_put_version_comes_back_as_a_fresh_detached_copy():
    cache = VersionCache()
    owner = template(1)
    stored = version(10, 1, "pvk-a")
    cache.put(owner, stored)

    first, second = cache.get(owner, "pvk-a"), cache.get(owner, "pvk-a")

    assert first is not None and second is not None
    assert (first.id, first.pvk, first.captured, first.drift) == (10, "pvk-a", stored.captured, False)
    assert first is not second and first is not stored
    assert inspect(first).detached  # as if loaded by a closed session: never inserted again by a flush
    first.captured["model"] = "changed"  # a request changing its copy leaves the cached entry as it was
    assert cache.get(owner, "pvk-a").captured["model"] == "gpt-4o"


def test_another_pvk_or_template_misses():
    cache = VersionCache()
    cache.put(template(1), version(10, 1, "pvk-a"))
    assert cache.get(template(1), "pvk-b") is None
    assert cache.get(template(2), "pvk-a") is None


def test_another_tenant_never_gets_the_version_even_for_the_same_template_id():
    cache = VersionCache()
    cache.put(template(1, "acme", "support"), version(10, 1, "pvk-a"))
    assert cache.get(template(1, "acme", "sales"), "pvk-a") is None
    assert cache.get(template(1, "globex", "support"), "pvk-a") is None
    assert cache.get(template(1, "acme", "support"), "pvk-a") is not None


def test_a_version_of_another_template_is_not_stored_under_this_one():
    cache = VersionCache()
    cache.put(template(1), version(10, 2, "pvk-a"))
    assert len(cache) == 0 and cache.get(template(1), "pvk-a") is None


def test_bounded_least_recently_used_goes_first():
    cache = VersionCache(size=3)
    owner = template(1)
    for index in range(3):
        cache.put(owner, version(index, 1, f"pvk-{index}"))
    assert cache.get(owner, "pvk-0") is not None  # now the most recently used
    cache.put(owner, version(3, 1, "pvk-3"))

    assert len(cache) == 3
    assert cache.get(owner, "pvk-1") is None  # the least recently used was evicted
    assert all(cache.get(owner, f"pvk-{index}") is not None for index in (0, 2, 3))
    for index in range(100):
        cache.put(owner, version(100 + index, 1, f"more-{index}"))
    assert len(cache) == 3


def test_size_zero_caches_nothing_and_a_negative_size_is_refused():
    cache = VersionCache(size=0)
    cache.put(template(1), version(10, 1, "pvk-a"))
    assert len(cache) == 0 and cache.get(template(1), "pvk-a") is None
    with pytest.raises(ValueError):
        VersionCache(size=-1)


def test_forget_one_entry_or_a_whole_template():
    cache = VersionCache()
    cache.put(template(1), version(10, 1, "pvk-a"))
    cache.put(template(1), version(11, 1, "pvk-b"))
    cache.put(template(2), version(12, 2, "pvk-a"))

    cache.forget(("acme", "support"), 1, "pvk-a")
    assert cache.get(template(1), "pvk-a") is None and cache.get(template(1), "pvk-b") is not None

    cache.forget_template(1)
    assert cache.get(template(1), "pvk-b") is None and cache.get(template(2), "pvk-a") is not None
    cache.clear()
    assert len(cache) == 0
