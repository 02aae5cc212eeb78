"""Dependencies resolved one after another instead of in an anyio task group per batch.

Litestar groups a handler's dependencies into batches (each batch needs only the ones before it) and resolves a batch
of two or more concurrently: a task group and one task per dependency, for every request. Prompter's providers build
plain service objects (synchronous, microseconds) around the request's session, so there is nothing to overlap, and a
run paid four task spawns and their event-loop turns per request for nothing. `resolve_in_sequence` flattens every
route's batches into batches of one, in the same order: each dependency still comes after the ones it needs, and
Litestar then awaits it directly. What a handler receives is unchanged; an error raises from the first dependency that
fails, as before.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.routes import HTTPRoute


def resolve_in_sequence(app: Litestar) -> int:
    """Flatten the dependency batches of every HTTP handler of `app`; returns how many batches were split."""
    split = 0
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for _handler, model in route.route_handler_map.values():
            batches: list[set[Any]] = model.dependency_batches
            if all(len(batch) <= 1 for batch in batches):
                continue
            split += sum(1 for batch in batches if len(batch) > 1)
            # Sorted by key within a batch: the same order on every start (sets have none).
            model.dependency_batches = [
                {dependency} for batch in batches for dependency in sorted(batch, key=lambda d: d.key)
            ]
    return split
