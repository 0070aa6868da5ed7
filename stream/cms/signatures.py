"""The first webhook signature (``auth: mmrag-hmac``, opt-in per source): HMAC-SHA256 of
the raw request body with the source's shared secret. It signs no timestamp, so a
captured request stays valid; sources default to Standard Webhooks instead
(:mod:`stream.cms.authentication`).

The sender puts ``sha256=<hex digest>`` (or the bare hex digest) in the
``X-Mmrag-Signature`` header. The body is signed byte for byte as sent, so the receiver
verifies before parsing anything. Comparison is constant-time (``hmac.compare_digest``).

In a shell: ``printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$SECRET" -hex``.
"""

from __future__ import annotations

import hashlib
import hmac
import re

SIGNATURE_HEADER = "X-Mmrag-Signature"
_PREFIX = "sha256="
_HEX_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def sign(secret: bytes, body: bytes) -> str:
    """The header value for ``body``: ``sha256=<hex>``."""
    return _PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(secret: bytes, body: bytes, header: str | None) -> bool:
    """Whether ``header`` (``sha256=<hex>`` or bare hex, any case) signs ``body``.

    A missing or malformed header is simply not valid; an empty secret never verifies,
    so a misconfigured source cannot accept unsigned-equivalent requests.
    """
    if not secret or header is None:
        return False
    candidate = header.strip()
    if candidate[: len(_PREFIX)].lower() == _PREFIX:
        candidate = candidate[len(_PREFIX) :]
    candidate = candidate.lower()
    if not _HEX_DIGEST.match(candidate):
        return False
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, candidate)
