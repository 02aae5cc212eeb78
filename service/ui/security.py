"""Browser-facing protections of the UI: the response headers every UI page carries. (Cross-site form protection:
service/ui/csrf.py; sessions: service/ui/session.py.)"""

from __future__ import annotations

from litestar.datastructures import ResponseHeader

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
