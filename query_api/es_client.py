"""The API's Elasticsearch client: JSON and NDJSON through orjson.

Every search sends a query vector (384 floats for MiniLM) and reads a few kB of hits and
sources; the standard library's ``json`` was a visible share of the API's CPU per search
on a 2-core machine. orjson writes and reads the same JSON, faster.
"""

from __future__ import annotations

from typing import Any

import orjson
from elasticsearch import AsyncElasticsearch
from elasticsearch.serializer import NdjsonSerializer, OrjsonSerializer


class OrjsonNdjsonSerializer(NdjsonSerializer):
    """``_msearch`` and ``_bulk`` lines through orjson (the client's own NDJSON serializer
    writes each line with the standard library)."""

    def json_dumps(self, data: Any) -> bytes:
        return orjson.dumps(data, default=self.default, option=orjson.OPT_SERIALIZE_NUMPY)

    def json_loads(self, data: bytes) -> Any:
        return orjson.loads(data)


def search_client(url: str, *, timeout_s: float) -> AsyncElasticsearch:
    """A client for the read side: one retry, no retry on a timeout (a search that timed
    out is answered with a 503 rather than sent again)."""
    return AsyncElasticsearch(
        url,
        request_timeout=timeout_s,
        max_retries=1,
        retry_on_timeout=False,
        serializers={
            OrjsonSerializer.mimetype: OrjsonSerializer(),
            OrjsonNdjsonSerializer.mimetype: OrjsonNdjsonSerializer(),
        },
    )
