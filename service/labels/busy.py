"""Bounded waits for the per-label lock (PostgreSQL).

A move waits for the moves of the same label before it. Waiting inside `pg_advisory_xact_lock` would hold a pooled
connection for as long as the queue ahead of it, and a few hundred moves of one label would then hold every connection
other workspaces need. Instead a move tries the lock a few times over a fraction of a second, and when another move
still holds it answers 409 `label_busy` with Retry-After: the client retries, and no connection waits on a lock.
"""

from __future__ import annotations

import asyncio
import random

from service.errors import Duplicate

# Attempts and the pause between them: at most ~0.5 s holding one connection before giving up.
LOCK_ATTEMPTS = 8
LOCK_PAUSE_S = 0.04
RETRY_AFTER_S = 1


class LabelBusy(Duplicate):
    status, code = 409, "label_busy"

    def __init__(self, label: str, name: str) -> None:
        super().__init__(
            f"Another change of label {label!r} of {name!r} is in progress. Retry after {RETRY_AFTER_S} s; the "
            "label ends up where the last change to commit points it.",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )


async def pause(attempt: int) -> None:
    # Jitter spreads a crowd of moves that all failed at once.
    await asyncio.sleep(LOCK_PAUSE_S * (0.5 + random.random()) * (1 + attempt / 2))
