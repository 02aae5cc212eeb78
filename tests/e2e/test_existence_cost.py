"""Another tenant's id and a missing id cost the same: the same number of SQL statements, the tenant filter inside the
one query that finds the row (so neither the answer nor the work says whether the id exists elsewhere)."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

from tests.e2e.test_auth import bearer, world  # noqa: F401 - the fixture: tenants A and B, B owns a result

MISSING = 999_999


@contextmanager
def statements(client):
    seen: list[str] = []
    engine = client.app.state.runtime.engine.sync_engine

    def record(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_foreign_result_and_a_missing_one_cost_the_same_statements(world) -> None:  # noqa: F811
    client, keys, _, foreign = world
    a = bearer(keys["a", "read"])
    client.get(f"/api/prompt-results/{MISSING}", headers=a)  # warm: the key lookup's caches, prepared statements
    costs = {}
    for case, result_id in (("foreign", foreign), ("missing", MISSING)):
        with statements(client) as seen:
            response = client.get(f"/api/prompt-results/{result_id}", headers=a)
        assert response.status_code == 404 and response.json()["error"] == "result_not_found", response.text
        costs[case] = seen
    assert len(costs["foreign"]) == len(costs["missing"]), costs
    reads = [sql for sql in costs["foreign"] if "prompt_results" in sql]
    assert len(reads) == 1 and "org_id" in reads[0], reads  # one query, filtered by tenant
    # The owner still reads it.
    assert client.get(f"/api/prompt-results/{foreign}", headers=bearer(keys["b", "read"])).status_code == 200
