"""Event plumbing: producers (file watcher, CMS ingress), topics, and the Faust worker
whose agents call the indexer. Imports ``indexer``, never ``query_api``."""

from __future__ import annotations

from stream.settings import StreamSettings

__all__ = ["StreamSettings"]
