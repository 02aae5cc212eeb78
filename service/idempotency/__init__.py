"""Idempotent retries: `Idempotency-Key` on POSTs that create something (service.py has the whole rule)."""

from service.idempotency.dependencies import IdempotencyKeyHeader
from service.idempotency.service import IdempotencyService

__all__ = ["IdempotencyKeyHeader", "IdempotencyService"]
