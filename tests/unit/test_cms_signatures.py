"""Webhook signatures (stream.cms.signatures)."""

from __future__ import annotations

import pytest

from stream.cms.signatures import SIGNATURE_HEADER, sign, verify

SECRET = b"key"
BODY = b"The quick brown fox jumps over the lazy dog"
# RFC-style known answer (HMAC-SHA256, key "key"), as `openssl dgst -sha256 -hmac key` gives.
KNOWN_DIGEST = "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"


def test_header_name() -> None:
    assert SIGNATURE_HEADER == "X-Mmrag-Signature"


def test_sign_gives_prefixed_hex_hmac_sha256() -> None:
    assert sign(SECRET, BODY) == f"sha256={KNOWN_DIGEST}"


@pytest.mark.parametrize(
    "header",
    [
        f"sha256={KNOWN_DIGEST}",
        KNOWN_DIGEST,
        KNOWN_DIGEST.upper(),
        f"SHA256={KNOWN_DIGEST}",
        f"  sha256={KNOWN_DIGEST}\n",
    ],
)
def test_verify_accepts_prefixed_or_bare_hex(header: str) -> None:
    assert verify(SECRET, BODY, header)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        "sha1=" + KNOWN_DIGEST[:40],
        KNOWN_DIGEST[:-1],
        KNOWN_DIGEST[:-1] + "0",
        "sha256=" + "z" * 64,
        f"sha256={KNOWN_DIGEST},sha256={KNOWN_DIGEST}",
    ],
)
def test_verify_refuses_missing_malformed_or_wrong_headers(header: str | None) -> None:
    assert not verify(SECRET, BODY, header)


def test_verify_refuses_a_tampered_body() -> None:
    assert not verify(SECRET, BODY + b" ", sign(SECRET, BODY))


def test_verify_refuses_another_secret() -> None:
    assert not verify(b"other", BODY, sign(SECRET, BODY))


def test_an_empty_secret_never_verifies() -> None:
    assert not verify(b"", BODY, sign(b"", BODY))


def test_round_trip_on_binary_bodies() -> None:
    body = bytes(range(256)) * 10
    assert verify(b"\x00secret\xff", body, sign(b"\x00secret\xff", body))
