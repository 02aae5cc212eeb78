"""Idempotent retries: `Idempotency-Key` on POSTs that create something (service.py has the whole rule)."""

from service.idempotency.service import EXCEPTION_HANDLERS, IdempotencyKeyHeader, IdempotencyService

__all__ = ["EXCEPTION_HANDLERS", "IdempotencyKeyHeader", "IdempotencyService"]
