"""Errors of the indexer, split by what the caller must do.

    IndexerError
    ├── PermanentError        the event or document is bad: dead-letter it, commit, go on
    │   ├── UnsupportedContent    a type we do not index
    │   ├── ExtractionError       corrupt, encrypted, too large, a decompression bomb …
    │   │   └── SourceGone            the file was deleted before it was read
    │   └── SourceNotAllowed      a path or URL outside the allowed roots or hosts
    └── TransientError        a backend is unavailable: retry with backoff, then stop
        ├── StoreUnavailable      Elasticsearch
        └── SourceUnavailable     a file system or asset host that may come back

Each error carries the document it is about (when known) and a human reason.
"""

from __future__ import annotations


class IndexerError(Exception):
    def __init__(self, reason: str, *, doc_id: str | None = None, uri: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.doc_id = doc_id
        self.uri = uri


class PermanentError(IndexerError):
    """Retrying will not help: the input is bad."""


class UnsupportedContent(PermanentError):
    pass


class ExtractionError(PermanentError):
    pass


class SourceGone(ExtractionError):
    """The file an upsert names no longer exists: for a watched folder the delete or move
    that removed it is on its way (or reconciliation sends it), so the upsert is
    superseded rather than dead-lettered."""


class SourceNotAllowed(PermanentError):
    pass


class TransientError(IndexerError):
    """The input is fine but something it needs is unavailable right now."""


class StoreUnavailable(TransientError):
    pass


class SourceUnavailable(TransientError):
    pass
