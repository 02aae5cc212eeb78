"""Idempotent retries: `Idempotency-Key` on POSTs that create something (service.py has the whole rule)."""

from service.idempotency.service import IdempotencyKeyHeader, IdempotencyService

__all__ = ["IdempotencyKeyHeader", "IdempotencyService"]
