"""Retiring prompts from the client against a live server: archive and unarchive a version, a revision and a prompt,
the 409 naming the labels as `Conflict`, and deleting a prompt with its confirmation (sync and async)."""

from __future__ import annotations

import httpx
import pytest
from client_live import TENANT, client_options, seed
from prompter_client import AsyncPrompter, Conflict, Prompter, PrompterError


def test_archive_and_unarchive_from_the_sync_client(live_url: str) -> None:
    v1, v2 = seed(live_url, "greet", ["Hello {{ name }}!", "Hi {{ name }}!"])  # production -> v1
    with Prompter(**client_options(live_url)) as p:
        with pytest.raises(Conflict) as refused:
            p.archive_version(v1)
        assert refused.value.code == "archive_labelled" and refused.value.extra["labels"] == ["production"]
        archived = p.archive_version(v2)
        assert archived.id == v2 and archived.archived_at is not None
        with pytest.raises(Conflict) as labelled:
            p.set_label("greet", "staging", v2)
        assert labelled.value.code == "archived_target"
        assert p.unarchive_version(v2).archived_at is None
        assert p.set_label("greet", "staging", v2).version_id == v2

        template_id = p.get_prompt("greet").template_id
        assert template_id is not None
        with pytest.raises(Conflict):
            p.archive_revision(template_id)
        with pytest.raises(Conflict):
            p.archive_prompt("greet")


async def test_archive_a_prompt_and_delete_it_from_the_async_client(live_url: str) -> None:
    seed(live_url, "greet", ["Hello {{ name }}!"], label=None)
    async with AsyncPrompter(**client_options(live_url)) as p:
        state = await p.archive_prompt("greet")
        assert state.name == "greet" and state.archived and state.archived_by == "anonymous"
        listed = httpx.get(f"{live_url}/api/prompt-templates", params=TENANT).json()["items"]
        assert listed == []
        assert (await p.unarchive_prompt("greet")).archived is False

        with pytest.raises(PrompterError) as unconfirmed:
            await p.delete_prompt("greet", confirm="gret")
        assert (unconfirmed.value.status, unconfirmed.value.code) == (422, "confirmation_required")
        deleted = await p.delete_prompt("greet", confirm="greet", reason="retired")
        assert deleted.name == "greet" and deleted.reason == "retired" and len(deleted.removed) == 1
