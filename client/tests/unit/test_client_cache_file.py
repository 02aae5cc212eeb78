"""`cache.dump(path)` and `Prompter(cache_file=path)`: ship the prompts a deploy was tested with; start offline."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from client_helpers import FakePrompter, expire, wait_until


def test_dump_then_start_offline_from_the_file(fake: FakePrompter, make_prompter, tmp_path: Path) -> None:
    fake.set("greet", "Hello {{ name }}")
    fake.set("greet", "Hi {{ name }} (staging)", label="staging")
    first = make_prompter()
    first.get_prompt("greet")
    first.get_prompt("greet", label="staging")
    path = tmp_path / "prompts.json"
    assert first.cache.dump(path) == 2
    document = json.loads(path.read_text())
    assert document["format"] == "prompter-client-cache/1" and document["org_id"] == "acme"
    assert {(e["name"], e["label"]) for e in document["entries"]} == {("greet", "production"), ("greet", "staging")}

    fake.down = True  # a fresh process, Prompter unreachable
    offline = make_prompter(cache_file=path)
    assert offline.get_prompt("greet").render(name="Ada") == "Hello Ada"
    assert offline.get_prompt("greet", label="staging").body == "Hi {{ name }} (staging)"


def test_loaded_entries_are_revalidated_with_their_etag(fake: FakePrompter, make_prompter, tmp_path: Path) -> None:
    fake.set("greet", "same")
    path = tmp_path / "prompts.json"
    make_prompter().get_prompt("greet")
    make_prompter().cache.dump(path)  # an empty cache dumps nothing...
    assert json.loads(path.read_text())["entries"] == []
    writer = make_prompter(cache_file=path)  # ...and a client with cache_file writes what it fetched
    writer.get_prompt("greet")
    etag = json.loads(path.read_text())["entries"][0]["etag"]
    before = len(fake.gets)
    reader = make_prompter(cache_file=path)
    assert reader.get_prompt("greet").body == "same"  # served from the file at once
    wait_until(lambda: len(fake.gets) == before + 1, what="the background revalidation")
    assert fake.gets[-1].headers["if-none-match"] == etag


def test_fallbacks_are_not_written(fake: FakePrompter, make_prompter, tmp_path: Path) -> None:
    fake.down = True
    p = make_prompter()
    assert p.get_prompt("greet", fallback="x").is_fallback
    assert p.cache.dump(tmp_path / "c.json") == 0


def test_unreadable_or_foreign_files_are_skipped_with_a_warning(
    fake: FakePrompter, make_prompter, tmp_path: Path, caplog
) -> None:
    fake.set("greet", "v")
    caplog.set_level(logging.WARNING, logger="prompter_client")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert len(make_prompter(cache_file=broken).cache) == 0
    assert len(make_prompter(cache_file=tmp_path / "missing.json").cache) == 0  # first deploy: no file yet, no noise
    other = tmp_path / "other.json"
    make_prompter(workspace_id="billing").get_prompt("greet")
    source = make_prompter(workspace_id="billing")
    source.get_prompt("greet")
    source.cache.dump(other)
    assert len(make_prompter(cache_file=other).cache) == 0  # saved for workspace billing, this client is support
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2 and "broken.json not loaded" in messages[0] and "workspace_id='billing'" in messages[1]


def test_a_file_is_bound_to_the_api_key_and_the_base_url(
    fake: FakePrompter, make_prompter, tmp_path: Path, caplog
) -> None:
    fake.set("greet", "tenant A's prompt")
    path = tmp_path / "prompts.json"
    writer = make_prompter(api_key="pk_a_secret-of-tenant-a", cache_file=path)
    writer.get_prompt("greet")
    writer.close()
    document = json.loads(path.read_text())
    assert document["base_url"] == "http://prompter.test"
    assert len(document["key_fingerprint"]) == 64 and "secret-of-tenant-a" not in path.read_text()

    caplog.set_level(logging.WARNING, logger="prompter_client")
    fake.down = True  # nothing but the file could answer
    assert len(make_prompter(api_key="pk_b_secret-of-tenant-b", cache_file=path).cache) == 0
    assert len(make_prompter(api_key=None, cache_file=path).cache) == 0
    assert make_prompter(api_key="pk_a_secret-of-tenant-a", cache_file=path).get_prompt("greet").body == (
        "tenant A's prompt"
    )
    messages = [r.getMessage() for r in caplog.records if "not loaded" in r.getMessage()]
    assert len(messages) == 2 and all("saved with another API key" in m for m in messages)
    assert all("secret" not in m for m in messages)


def test_a_file_saved_for_another_server_is_skipped(fake: FakePrompter, tmp_path: Path, caplog) -> None:
    import httpx
    from prompter_client import Prompter

    fake.set("greet", "v")
    path = tmp_path / "prompts.json"
    with Prompter(
        "http://staging.test",
        org_id="acme",
        workspace_id="support",
        cache_file=path,
        transport=httpx.MockTransport(fake.handler),
    ) as staging:
        staging.get_prompt("greet")
    caplog.set_level(logging.WARNING, logger="prompter_client")
    with Prompter(
        "http://prompter.test",
        org_id="acme",
        workspace_id="support",
        cache_file=path,
        transport=httpx.MockTransport(fake.handler),
    ) as production:
        assert len(production.cache) == 0
    assert any("saved for 'http://staging.test'" in r.getMessage() for r in caplog.records)


def test_an_evicted_entry_leaves_the_file_too(fake: FakePrompter, make_prompter, tmp_path: Path) -> None:
    fake.set("greet", "v")
    fake.set("bye", "b")
    path = tmp_path / "prompts.json"
    p = make_prompter(cache_file=path)
    p.get_prompt("greet")
    p.get_prompt("bye")
    del fake.prompts[("greet", "production")]
    expire(p)
    p.get_prompt("greet")
    wait_until(lambda: [e["name"] for e in json.loads(path.read_text())["entries"]] == ["bye"], what="the rewrite")
