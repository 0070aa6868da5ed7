"""Who is calling, and what they may see (pure).

A caller is identified by the ``X-API-Key`` header; the key's principals are matched
against each chunk's and document's ``acl``. Without a key (when keys are not required)
the caller is anonymous with no principals: they see public documents only.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from query_api.errors import Unauthorized
from query_api.settings import ApiKey

API_KEY_HEADER = "X-API-Key"


@dataclass(frozen=True)
class Caller:
    name: str
    principals: tuple[str, ...] = ()


ANONYMOUS = Caller(name="anonymous")


def identify_caller(key: str | None, keys: Mapping[str, ApiKey], *, required: bool) -> Caller:
    """The caller a key belongs to. Every configured key is compared in constant time, so
    response time does not tell how much of a guessed key was right."""
    if key is None or key == "":
        if required:
            raise Unauthorized(f"an API key is required: send it in the {API_KEY_HEADER} header")
        return ANONYMOUS
    found: ApiKey | None = None
    for candidate, holder in keys.items():
        if hmac.compare_digest(candidate.encode(), key.encode()):
            found = holder
    if found is None:
        raise Unauthorized("unknown API key")
    return Caller(name=found.name, principals=found.principals)


def may_read(acl: Sequence[str] | str | None, caller: Caller) -> bool:
    """Public (no ACL entries) or shared with one of the caller's principals."""
    if not acl:
        return True
    entries = {acl} if isinstance(acl, str) else set(acl)
    return not entries.isdisjoint(caller.principals)
