"""The domain's errors: one hierarchy, no web framework (service/http/errors.py maps each family to an HTTP status).

Every error carries a stable `code` (what a client branches on) and a `detail` (what went wrong and how to fix it);
`extra` fields travel into the error body; `headers` are hints for the transport (Retry-After).
"""

from __future__ import annotations

from typing import Any


class PrompterError(Exception):
    code = "bad_request"

    def __init__(self, detail: str, *, code: str | None = None, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.headers = headers or {}
        self.extra = extra


class InvalidInput(PrompterError):
    code = "invalid_request"


class Unauthorized(PrompterError):
    code = "unauthorized"


class Forbidden(PrompterError):
    code = "forbidden"


class NotFound(PrompterError):
    code = "not_found"


class Duplicate(PrompterError):
    code = "duplicate"


class UnsupportedMediaType(PrompterError):
    code = "unsupported_media_type"


class Unprocessable(PrompterError):
    """The request is well-formed but the domain rejects it (unknown provider, missing variables)."""

    code = "unprocessable"


class ProviderError(PrompterError):
    """The LLM provider failed: 5xx, a malformed body, a refused connection or a rejected request."""

    code = "provider_error"


class ProviderAuth(ProviderError):
    """The provider refused our key (401/403). The detail never repeats the key or the provider's message about it."""

    code = "provider_auth"


class ProviderRateLimited(ProviderError):
    """The provider kept answering 429 after the bounded retries; carries a Retry-After header."""

    code = "provider_rate_limited"


class ProviderTimeout(ProviderError):
    code = "provider_timeout"


class DependencyUnavailable(PrompterError):
    code = "dependency_unavailable"
