"""Who sent a webhook: one scheme per source, checked on the raw request before parsing.

=====================  =====================================================================
``standard-webhooks``  `Standard Webhooks`_ (the ``standardwebhooks`` package):
                       ``webhook-id``, ``webhook-timestamp`` (Unix seconds, within 5
                       minutes of now) and ``webhook-signature`` (``v1,<base64 HMAC-SHA256
                       of "id.timestamp.body">``). Replays outside the window fail; inside
                       it, the ``webhook-id`` is the message id. Default for ``generic``
                       and ``wordpress`` sources.
``contentful``         Contentful's request verification: ``x-contentful-signature`` is the
                       hex HMAC-SHA256 of ``method\\npath\\nsigned headers\\nbody``, the signed
                       headers (``x-contentful-signed-headers``, in that order, as
                       ``name:value`` joined by ``;``) must include
                       ``x-contentful-timestamp`` (Unix milliseconds, within 5 minutes).
                       The signature is the message id. Default for ``contentful``.
``strapi-token``       ``Authorization: Bearer <secret>`` (a header set in Strapi's webhook
                       settings). A static token: no timestamp, so no replay window (see
                       ``docs/cms-webhooks.md`` for why a replay cannot undo a change).
                       Default for ``strapi``.
``mmrag-hmac``         The first scheme of this project: ``X-Mmrag-Signature: sha256=<hex
                       HMAC-SHA256 of the body>`` (:mod:`stream.cms.signatures`). No
                       timestamp: only for senders not yet moved to Standard Webhooks.
=====================  =====================================================================

Every comparison is constant-time; an empty secret never verifies (the settings refuse
one anyway).

.. _Standard Webhooks: https://www.standardwebhooks.com/
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from stream.cms.signatures import SIGNATURE_HEADER, verify

TOLERANCE = timedelta(minutes=5)
"""How far a signed timestamp may be from now (Standard Webhooks' own tolerance)."""
WHSEC_PREFIX = "whsec_"

CONTENTFUL_SIGNATURE = "x-contentful-signature"
CONTENTFUL_SIGNED_HEADERS = "x-contentful-signed-headers"
CONTENTFUL_TIMESTAMP = "x-contentful-timestamp"


class AuthScheme(StrEnum):
    STANDARD_WEBHOOKS = "standard-webhooks"
    CONTENTFUL = "contentful"
    STRAPI_TOKEN = "strapi-token"  # noqa: S105 (the scheme's name, not a token)
    MMRAG_HMAC = "mmrag-hmac"


class AuthenticationFailed(Exception):
    """The request is not from the source's sender; the message says what was wrong
    (never anything secret)."""


@dataclass(frozen=True)
class SignedRequest:
    """What a scheme may look at: the method, the path (with its query), the headers
    (names in lower case) and the raw body."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes


def authenticate(
    scheme: AuthScheme, secret: str, request: SignedRequest, now: datetime
) -> str | None:
    """Check ``request`` against ``scheme`` and ``secret``; return the message id that a
    replay within the time window would repeat (None for schemes without a timestamp).
    Raises :class:`AuthenticationFailed`."""
    if not secret:
        raise AuthenticationFailed("the source has no secret")
    if scheme is AuthScheme.STANDARD_WEBHOOKS:
        return _standard_webhooks(secret, request)
    if scheme is AuthScheme.CONTENTFUL:
        return _contentful(secret, request, now)
    if scheme is AuthScheme.STRAPI_TOKEN:
        _strapi_token(secret, request)
        return None
    if not verify(secret.encode(), request.body, request.headers.get(SIGNATURE_HEADER.lower())):
        raise AuthenticationFailed(f"missing or invalid {SIGNATURE_HEADER} (sha256=<hmac>)")
    return None


def standard_webhook(secret: str) -> Webhook:
    """The verifier (and signer) for a source's secret: ``whsec_<base64>`` as Standard
    Webhooks senders issue them, any other string as the key's UTF-8 bytes."""
    if secret.startswith(WHSEC_PREFIX):
        return Webhook(secret)
    return Webhook(secret.encode())


def _standard_webhooks(secret: str, request: SignedRequest) -> str:
    try:
        standard_webhook(secret).verify(request.body, dict(request.headers), json_parse=False)
    except WebhookVerificationError as error:
        raise AuthenticationFailed(
            f"Standard Webhooks verification failed: {error} (webhook-id, webhook-timestamp "
            "within 5 minutes, webhook-signature v1,<base64>)"
        ) from error
    except (ValueError, TypeError) as error:  # malformed signature list, base64, or UTF-8
        raise AuthenticationFailed("malformed webhook-signature or body") from error
    return request.headers["webhook-id"]


def _contentful(secret: str, request: SignedRequest, now: datetime) -> str:
    headers = request.headers
    signature = headers.get(CONTENTFUL_SIGNATURE, "").strip().lower()
    listed = headers.get(CONTENTFUL_SIGNED_HEADERS, "").split(",")
    signed = [name.strip().lower() for name in listed]
    if not signature or CONTENTFUL_TIMESTAMP not in signed:
        raise AuthenticationFailed(
            f"missing {CONTENTFUL_SIGNATURE}, or {CONTENTFUL_TIMESTAMP} not among "
            f"{CONTENTFUL_SIGNED_HEADERS} (enable request verification on the webhook)"
        )
    if any(name not in headers for name in signed):
        raise AuthenticationFailed(f"a header listed in {CONTENTFUL_SIGNED_HEADERS} is missing")
    _check_timestamp_ms(headers[CONTENTFUL_TIMESTAMP], now)
    canonical = (
        "\n".join(
            (
                request.method.upper(),
                request.path,
                ";".join(f"{name}:{headers[name]}" for name in signed),
            )
        ).encode()
        + b"\n"
        + request.body
    )
    expected = hmac.new(secret.encode(), canonical, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise AuthenticationFailed(f"invalid {CONTENTFUL_SIGNATURE}")
    return signature


def _check_timestamp_ms(value: str, now: datetime) -> None:
    try:
        sent = datetime.fromtimestamp(int(value.strip()) / 1000, tz=now.tzinfo)
    except (ValueError, OverflowError, OSError) as error:
        raise AuthenticationFailed(f"{CONTENTFUL_TIMESTAMP} is not Unix milliseconds") from error
    if abs(now - sent) > TOLERANCE:
        raise AuthenticationFailed(
            f"{CONTENTFUL_TIMESTAMP} is more than {int(TOLERANCE.total_seconds())} s from now"
        )


def _strapi_token(secret: str, request: SignedRequest) -> None:
    token = request.headers.get("authorization", "").strip()
    if token[:7].lower() == "bearer ":
        token = token[7:].strip()
    if not token or not hmac.compare_digest(token.encode(), secret.encode()):
        raise AuthenticationFailed("missing or invalid Authorization: Bearer <token>")


def standard_webhook_headers(
    secret: str, body: bytes, *, message_id: str, timestamp: datetime
) -> dict[str, str]:
    """The headers a Standard Webhooks sender puts on ``body`` (for scripts and tests)."""
    signature = standard_webhook(secret).sign(message_id, timestamp, body.decode())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature,
    }


def contentful_headers(
    secret: str, method: str, path: str, body: bytes, *, timestamp: datetime
) -> dict[str, str]:
    """The request-verification headers Contentful puts on a request (for tests)."""
    signed = {
        CONTENTFUL_TIMESTAMP: str(int(timestamp.timestamp() * 1000)),
        CONTENTFUL_SIGNED_HEADERS: f"{CONTENTFUL_TIMESTAMP},{CONTENTFUL_SIGNED_HEADERS}",
    }
    names = [CONTENTFUL_TIMESTAMP, CONTENTFUL_SIGNED_HEADERS]
    canonical = f"{method}\n{path}\n" + ";".join(f"{name}:{signed[name]}" for name in names)
    digest = hmac.new(secret.encode(), canonical.encode() + b"\n" + body, hashlib.sha256)
    return {**signed, CONTENTFUL_SIGNATURE: digest.hexdigest()}
