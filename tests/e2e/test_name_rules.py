"""Name rules over HTTP: new names are NFC-normalised and refused (400 invalid_name) when invisible, control or path
characters would make two names look alike or a name unaddressable; names stored before the rule keep working."""

from __future__ import annotations

import asyncio

from service.db.engine import create_engine, session_factory, unit_of_work
from service.db.models import PromptTemplate
from service.settings import Settings
from service.templates.rendering import content_hash
from tests.e2e.labels_support import TENANT


def create(client, name: str, body: str = "Hi {{ who }}"):
    return client.post("/api/prompt-templates", json={"name": name, "body": body, **TENANT})


def test_new_names_with_invisible_or_path_characters_are_refused(client) -> None:
    for name in ("gre\u200bet", "greet\r\n", "a/b", ".", "..", "greet "):
        response = create(client, name)
        assert response.status_code == 400, (name, response.text)
        assert response.json()["error"] == "invalid_name" and "not allowed" in response.json()["detail"]


def test_a_decomposed_name_is_the_same_as_the_composed_one(client) -> None:
    composed = create(client, "caf\u00e9")
    assert composed.status_code == 201
    decomposed = create(client, "cafe\u0301", body="Bye {{ who }}")
    assert decomposed.status_code == 201 and decomposed.json()["name"] == "caf\u00e9"
    assert decomposed.json()["revision"] == 2


def test_a_name_stored_before_the_rule_keeps_getting_revisions(client, sqlite_url) -> None:
    legacy = "gre\u200bet"

    async def insert() -> None:
        engine = create_engine(Settings(db_url=sqlite_url))
        try:
            async with unit_of_work(session_factory(engine)) as session:
                body = "Old {{ who }}"
                session.add(
                    PromptTemplate(
                        **TENANT, name=legacy, body=body, variables=["who"], content_hash=content_hash(body), revision=1
                    )
                )
        finally:
            await engine.dispose()

    asyncio.run(insert())
    response = create(client, legacy, body="New {{ who }}")
    assert response.status_code == 201, response.text
    assert response.json()["name"] == legacy and response.json()["revision"] == 2
