"""Browser-facing protections of the UI: CSRF on its forms and the response headers every UI page carries."""

from __future__ import annotations

import hashlib
import logging
import secrets

from litestar.config.csrf import CSRFConfig
from litestar.datastructures import ResponseHeader

from service.ui.session import UI_PATH

log = logging.getLogger("prompter.ui")

# No scripts at all, styles and images only from this origin, forms only back to it, never framed. Inline SVG is
# markup, not an image load, so the activity chart needs nothing more.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    # Pages show a tenant's prompts and outputs: no shared cache may keep them.
    "Cache-Control": "no-store",
}
RESPONSE_HEADERS = [ResponseHeader(name=name, value=value) for name, value in SECURITY_HEADERS.items()]


def csrf_config(secret: str | None) -> CSRFConfig:
    """Double-submit token (cookie + hidden form field), HMAC-signed with PROMPTER_UI_SECRET.

    Applied by the UI router only: the JSON API authenticates with a bearer header a browser never sends on its own,
    so it needs no CSRF token and gets none. Without a configured secret one is drawn per process; the cookie name
    carries a short fingerprint of the secret, so after a restart the browser's old token is simply not looked at
    (a fresh one is issued) instead of failing every form with 403."""
    if secret is None:
        secret = secrets.token_hex(32)
        log.info("PROMPTER_UI_SECRET not set: UI form tokens are signed with a per-process secret")
    fingerprint = hashlib.sha256(secret.encode()).hexdigest()[:8]
    return CSRFConfig(
        secret=secret,
        cookie_name=f"prompter_csrf_{fingerprint}",
        cookie_path=UI_PATH,
        cookie_httponly=True,
        cookie_samesite="strict",
    )
