"""Errors of the query API, one class per HTTP answer, mapped in one handler (``app``).

    QueryError                 carries a human ``reason``; never a 500 for bad input
    ├── InvalidQuery          422  empty query, unsupported image, a mode the query can't use
    ├── Unauthorized          401  missing or unknown API key
    ├── NotFound              404  unknown document/chunk, or one the caller may not see
    ├── PayloadTooLarge       413  an upload over ``max_upload_bytes``
    ├── UnsupportedMediaType  415  a body that is neither JSON nor a multipart form
    └── ServiceUnavailable    503  Elasticsearch (or another backend) out of reach

A document the caller may not read is *not found* for them (404, not 403), so that its
existence does not leak.
"""

from __future__ import annotations


class QueryError(Exception):
    status_code = 400

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidQuery(QueryError):
    status_code = 422


class Unauthorized(QueryError):
    status_code = 401


class NotFound(QueryError):
    status_code = 404


class PayloadTooLarge(QueryError):
    status_code = 413


class ServiceUnavailable(QueryError):
    status_code = 503


class UnsupportedMediaType(QueryError):
    status_code = 415
