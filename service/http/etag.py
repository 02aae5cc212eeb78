"""Strong ETags and conditional GETs (RFC 9110 §8.8.3, §13.1.2) for responses clients poll."""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec
from litestar import MediaType, Response

_encoder = msgspec.json.Encoder()


def etag_of(body: bytes) -> str:
    """A strong validator: the hash of the exact bytes sent, so equal tags mean byte-identical bodies."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def matches(if_none_match: str | None, etag: str) -> bool:
    """If-None-Match uses the weak comparison: `W/"x"` matches `"x"`; `*` matches any current representation."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False


def conditional_json(content: Any, if_none_match: str | None, etag_basis: Any = None) -> Response[Any]:
    """200 with the JSON body and its ETag, or 304 with the ETag and no body when the client already has it.
    `etag_basis`: what the tag hashes when it is not the body itself (a split label: the same tag for every arm)."""
    body = _encoder.encode(content)
    etag = etag_of(body if etag_basis is None or etag_basis is content else _encoder.encode(etag_basis))
    # no-cache: caches may store the response but must revalidate (cheap: a 304) before reusing it.
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if matches(if_none_match, etag):
        return Response(content=b"", status_code=304, headers=headers)
    return Response(content=body, status_code=200, media_type=MediaType.JSON, headers=headers)
