"""The client against a live server with PROMPTER_AUTH=required: typed 401/403/404, the protected `production` label,
and a key revoked while prompts are cached (the cached prompt stays in service)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from client_helpers import expire, wait_until
from client_live import make_key, revoke_key, seed
from prompter_client import Forbidden, Prompter, PromptNotFound, Unauthorized


@pytest.fixture
def auth_server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    from service.app import create_app
    from service.settings import Settings
    from tests.support.live_server import LiveServer

    db_url = f"sqlite:///{tmp_path}/prompter.db"
    app = create_app(Settings(db_url=db_url, db_auto_migrate=True, auth="required"))
    with LiveServer(app) as url:
        yield url, db_url


def test_keys_roles_and_tenants(auth_server: tuple[str, str]) -> None:
    url, db_url = auth_server
    admin, write, read = (make_key(db_url, role) for role in ("admin", "write", "read"))
    other_tenant = make_key(db_url, "admin", org_id="globex", workspace_id="support")
    v1, v2 = seed(url, "greet", ["Hello {{ name }}!", "Hi {{ name }}!"], api_key=admin)

    with Prompter(url) as anonymous, pytest.raises(Unauthorized) as missing:
        anonymous.get_prompt("greet")
    assert (missing.value.status, missing.value.code) == (401, "unauthorized")
    with Prompter(url, api_key="pk_nope_nope") as wrong, pytest.raises(Unauthorized):
        wrong.get_prompt("greet")

    with Prompter(url, api_key=read) as p:
        assert p.get_prompt("greet").version.id == v1
        with pytest.raises(Forbidden) as readonly:
            p.set_label("greet", "staging", v2)
        assert readonly.value.status == 403
    with Prompter(url, api_key=write) as p:
        with pytest.raises(Forbidden) as protected:
            p.set_label("greet", "production", v2, reason="a write key may not")
        assert protected.value.code == "protected_label"
        assert p.set_label("greet", "staging", v2).version_id == v2
        assert p.get_prompt("greet", label="staging").body == "Hi {{ name }}!"
    with Prompter(url, api_key=admin) as p:
        assert p.set_label("greet", "production", v2, reason="roll out").version_id == v2
    with Prompter(url, api_key=other_tenant) as p, pytest.raises(PromptNotFound):
        p.get_prompt("greet")  # another org's prompt does not exist for this key


def test_a_revoked_key_keeps_the_cached_prompt_and_warns_once(auth_server: tuple[str, str], caplog) -> None:
    url, db_url = auth_server
    admin = make_key(db_url, "admin")
    read = make_key(db_url, "read")
    seed(url, "greet", ["Hello {{ name }}!"], api_key=admin)
    caplog.set_level(logging.WARNING, logger="prompter_client")
    with Prompter(url, api_key=read, retry_min_s=0.05, retry_max_s=0.05) as p:
        p.get_prompt("greet")
        revoke_key(db_url, read)
        expire(p)
        key = next(iter(p.cache))

        def served_through_refusals() -> bool:
            assert p.get_prompt("greet").body == "Hello {{ name }}!"
            state = p._core.retry_state(key)
            return state is not None and state[0] >= 3

        wait_until(served_through_refusals, what="three refused refreshes")
        with pytest.raises(Unauthorized):
            p.get_prompt("other")  # a first fetch has nothing to fall back on
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and r.name == "prompter_client"]
    assert len(warnings) == 1 and "unauthorized" in warnings[0] and "'greet'" in warnings[0]


def test_a_cache_file_never_serves_another_tenants_prompt(auth_server: tuple[str, str], tmp_path: Path, caplog) -> None:
    url, db_url = auth_server
    tenant_a = make_key(db_url, "admin")
    tenant_b = make_key(db_url, "admin", org_id="globex", workspace_id="support")
    seed(url, "greet", ["Tenant A's prompt"], api_key=tenant_a)
    path = tmp_path / "prompts.json"
    with Prompter(url, api_key=tenant_a, cache_file=path) as a:
        assert a.get_prompt("greet").body == "Tenant A's prompt"
    assert tenant_a not in path.read_text()  # a fingerprint of the key binds the file, never the key

    caplog.set_level(logging.WARNING, logger="prompter_client")
    with Prompter(url, api_key=tenant_b, cache_file=path) as b:
        assert len(b.cache) == 0  # the file belongs to A's key: nothing of it is loaded
        with pytest.raises(PromptNotFound):
            b.get_prompt("greet")  # the server's answer for B's tenant, not A's cached prompt
    assert any("saved with another API key" in r.getMessage() for r in caplog.records)
    with Prompter(url, api_key=tenant_a, cache_file=path) as again:
        assert len(again.cache) == 1  # A's own file still serves A
