"""`cache.dump(path)` and `Prompter(cache_file=path)`: ship the prompts a deploy was tested with; start offline."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from client_helpers import FakePrompter, wait_until


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
