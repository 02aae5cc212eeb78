"""Redis: connection and health. (The probe cache builds on this.)"""

from __future__ import annotations

import logging

from telemetry import Telemetry

log = logging.getLogger("prompter.cache")


class RedisHealth:
    """What /readyz reports for Redis and what the prompter_redis_up gauge says: up, down or disabled."""

    def __init__(self, telemetry: Telemetry, *, configured: bool) -> None:
        self.telemetry = telemetry
        self.configured = configured
        self.up = False

    @property
    def status(self) -> str:
        if not self.configured:
            return "disabled"
        return "up" if self.up else "down"

    def mark(self, up: bool) -> None:
        if up != self.up and self.configured:
            log.warning("redis is %s", "up" if up else "down")
        self.up = up
        self.telemetry.set_redis_up(up)
