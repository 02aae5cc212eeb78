"""The relay's receiving side (service/cache/prompt_relay.py): another replica's change is delivered to this one's
sessions, this replica's own echo and malformed messages are not."""

from __future__ import annotations

import json

from service.cache.prompt_relay import PromptRelay


def test_only_other_replicas_changes_are_delivered() -> None:
    delivered: list[tuple[str, str]] = []
    relay = PromptRelay(client=None, deliver=lambda org, ws: delivered.append((org, ws)))  # type: ignore[arg-type]
    other = {"origin": "another-replica", "org_id": "acme", "workspace_id": "shop", "name": "greet"}
    relay._received(json.dumps(other))
    relay._received(json.dumps({**other, "origin": relay.origin}))  # our own publish, back from Redis
    for malformed in (b"not json", json.dumps({"origin": "x"}), json.dumps({**other, "org_id": 3}), None):
        relay._received(malformed)
    assert delivered == [("acme", "shop")]
