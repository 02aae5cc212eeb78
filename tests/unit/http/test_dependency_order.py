"""Every route resolves its dependencies one at a time, each after the ones it needs (service/http/dependency_order.py)."""

from __future__ import annotations

from litestar import Litestar, get
from litestar.di import NamedDependency, Provide
from litestar.routes import HTTPRoute
from litestar.testing import TestClient

from service.app import create_app
from service.http.dependency_order import resolve_in_sequence
from service.settings import Settings


def _models(app: Litestar):
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler, model in route.route_handler_map.values():
                yield route.path, handler, model


def test_every_prompter_route_has_batches_of_one_in_dependency_order(sqlite_url):
    app = create_app(Settings(db_url=sqlite_url))
    seen_run = False
    for path, _handler, model in _models(app):
        batches = model.dependency_batches
        assert all(len(batch) == 1 for batch in batches), path
        order = [next(iter(batch)).key for batch in batches]
        for position, batch in enumerate(batches):
            dependency = next(iter(batch))
            assert all(order.index(child.key) < position for child in dependency.dependencies), (path, order)
        if path == "/api/prompt-templates/{template_id:int}/run" and "POST" in _handler.http_methods:
            seen_run = True
            assert {"session", "templates", "runs", "idempotency"} <= set(order)
            assert order.index("session") < order.index("templates") < order.index("runs")
    assert seen_run


def test_values_and_order_are_what_the_handler_needs():
    calls: list[str] = []

    def a() -> int:
        calls.append("a")
        return 1

    def b() -> int:
        calls.append("b")
        return 2

    def c(a: NamedDependency[int], b: NamedDependency[int]) -> int:
        calls.append("c")
        return a + b

    @get(
        "/sum",
        dependencies={
            "a": Provide(a, sync_to_thread=False),
            "b": Provide(b, sync_to_thread=False),
            "c": Provide(c, sync_to_thread=False),
        },
    )
    async def total(a: NamedDependency[int], b: NamedDependency[int], c: NamedDependency[int]) -> dict[str, int]:
        return {"a": a, "b": b, "c": c}

    app = Litestar([total])
    before = [len(model.dependency_batches) for _, _, model in _models(app) if model.dependency_batches]
    assert resolve_in_sequence(app) == 1  # [{a, b}, {c}] -> [{a}, {b}, {c}]
    assert [len(model.dependency_batches) for _, _, model in _models(app) if model.dependency_batches] == [
        before[0] + 1
    ]
    with TestClient(app) as client:
        assert client.get("/sum").json() == {"a": 1, "b": 2, "c": 3}
    assert calls == ["a", "b", "c"]
