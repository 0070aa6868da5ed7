"""Keeping credentials out of what the API says and logs (pure).

An OpenAI-compatible URL may carry credentials (``https://user:key@host/v1``, or
``?api_key=…``), and an upstream's error body may echo the API key it was sent. Every
message that can reach a caller, the log or ``/health`` passes through ``redact``: known
secrets are replaced wherever they appear, URL user-info and credential-like query
parameters are masked, and so are bearer tokens and key-shaped words (``sk-…``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import SplitResult, urlsplit, urlunsplit

MASK = "***"
_MIN_SECRET_LENGTH = 4
"""Shorter "secrets" would mask ordinary words; they are not worth anything anyway."""
_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.\-]*://)(?P<userinfo>[^\s/@?#]+)@")
_SECRET_PARAMETER = re.compile(
    r"(?P<name>\b(?:api[_-]?key|key|token|access[_-]?token|secret|password|sig|signature)=)"
    r"(?P<value>[^\s&#\"']+)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?P<name>\b(?:Bearer|Basic)\s+)(?P<value>[A-Za-z0-9._~+/=\-]{8,})")
_KEY_SHAPED = re.compile(r"\b(?:sk|pk|rk)-[A-Za-z0-9_\-]{8,}")


def url_credentials(url: str) -> tuple[str, str | None, str | None]:
    """``url`` without its user-info, and the user name and password it carried."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None, None
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    clean = urlunsplit(SplitResult(parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return clean, parts.username, parts.password


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every credential masked as ``***``."""
    known = {secret for secret in secrets if secret and len(secret) >= _MIN_SECRET_LENGTH}
    for secret in sorted(known, key=len, reverse=True):  # "abc" inside "abcdef" goes last
        text = text.replace(secret, MASK)
    text = _USERINFO.sub(lambda match: f"{match.group('scheme')}{MASK}@", text)
    text = _SECRET_PARAMETER.sub(lambda match: f"{match.group('name')}{MASK}", text)
    text = _BEARER.sub(lambda match: f"{match.group('name')}{MASK}", text)
    return _KEY_SHAPED.sub(MASK, text)
