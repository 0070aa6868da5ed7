"""Text in a webhook body that cannot be written: JSON allows ``"\ud800"`` (a lone UTF-16
surrogate), Python decodes it, and only encoding to UTF-8 (for Kafka, for the index)
fails. Such a body is refused up front, with where the bad text is, rather than failing
half way through producing its events."""

from __future__ import annotations

from collections.abc import Mapping

from stream.cms.payloads import PayloadError


def refuse_unencodable_text(payload: object) -> None:
    """Raise :class:`PayloadError` naming the first string (or key) of ``payload`` that is
    not valid Unicode. Walked with an explicit stack: linear, whatever the nesting."""
    pending: list[tuple[str, object]] = [("body", payload)]
    while pending:
        where, value = pending.pop()
        if isinstance(value, str):
            _check(value, where)
        elif isinstance(value, Mapping):
            for key, item in value.items():
                _check(str(key), f"{where}: a key")
                pending.append((f"{where}.{key}", item))
        elif isinstance(value, list):
            pending.extend((f"{where}[{index}]", item) for index, item in enumerate(value))


def _check(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise PayloadError(
            f"{where[:200]} holds text that is not Unicode (a lone surrogate "
            f"{text[error.start]!r} at character {error.start}): send valid UTF-8"
        ) from error
