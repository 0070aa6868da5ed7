"""The read side: FastAPI retrieval and generation, and the web page.
Imports ``indexer`` (encoders, store), never ``stream``.

Public surface: ``create_app`` and ``ApiSettings`` (imported lazily, so that importing
``query_api.generation`` or ``query_api.schemas`` does not import FastAPI's app)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from query_api.app import create_app
    from query_api.settings import ApiSettings

__all__ = ["ApiSettings", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from query_api.app import create_app

        return create_app
    if name == "ApiSettings":
        from query_api.settings import ApiSettings

        return ApiSettings
    raise AttributeError(f"module 'query_api' has no attribute {name!r}")
