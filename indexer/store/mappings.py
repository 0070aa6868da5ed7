"""Index bodies for chunks and documents (pure: unit-tested as dict equality).

Only features that the minimal and the full Elasticsearch distributions share are used:
the ``standard`` analyzer, ``dense_vector`` with HNSW, keyword filters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GENERATION_FORMAT = "{alias}-{number:06d}"
SECTION_TEXT_FIELD = "section_text"
"""The heading path (``Chapter > Section``) as analysed text, for BM25."""
TITLE_KEYWORD_FIELD = "title.keyword"
"""The title as one exact term (``title`` itself is analysed text)."""


@dataclass(frozen=True)
class VectorSpace:
    """What a generation's vectors were made with; a change needs a new generation."""

    text_model: str
    text_dimensions: int
    clip_model: str | None
    clip_dimensions: int | None

    def as_meta(self) -> dict[str, Any]:
        return {
            "text_model": self.text_model,
            "text_dimensions": self.text_dimensions,
            "clip_model": self.clip_model,
            "clip_dimensions": self.clip_dimensions,
            "clip_text_window": "leading tokens of each chunk (the text tower's limit)",
        }


@dataclass(frozen=True)
class IndexLayout:
    """How a new index is spread over the cluster. Shards are fixed when the index is
    created (a new generation changes them); replicas can change on a live index."""

    shards: int = 1
    replicas: int = 0

    def as_settings(self) -> dict[str, int]:
        return {"number_of_shards": self.shards, "number_of_replicas": self.replicas}


def generation_index_name(alias: str, number: int) -> str:
    return GENERATION_FORMAT.format(alias=alias, number=number)


def _vector(dimensions: int, index_type: str) -> dict[str, Any]:
    return {
        "type": "dense_vector",
        "dims": dimensions,
        "index": True,
        "similarity": "cosine",
        "index_options": {"type": index_type},
    }


def chunk_index_body(
    space: VectorSpace,
    *,
    index_type: str,
    refresh_interval: str,
    layout: IndexLayout = IndexLayout(),
) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "chunk_id": {"type": "keyword"},
        "doc_id": {"type": "keyword"},
        "source": {"type": "keyword"},
        "uri": {"type": "keyword"},
        "url": {"type": "keyword", "index": False},
        "title": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 512}}},
        "author": {"type": "keyword"},
        "tags": {"type": "keyword"},
        "acl": {"type": "keyword"},
        "content_type": {"type": "keyword"},
        "modality": {"type": "keyword"},
        "order": {"type": "integer"},
        "text": {"type": "text"},
        "context": {"type": "text"},
        "ocr_text": {"type": "text"},
        # the heading path: exact filters and aggregations on ``section``, BM25 on
        # ``section_text`` (filled by ``copy_to``, so the source holds it once)
        "section": {"type": "keyword", "ignore_above": 1024, "copy_to": SECTION_TEXT_FIELD},
        SECTION_TEXT_FIELD: {"type": "text"},
        "page": {"type": "integer"},
        "bbox": {"type": "float", "index": False},
        "char_start": {"type": "integer", "index": False},
        "char_end": {"type": "integer", "index": False},
        "image_sha256": {"type": "keyword"},
        "image_reference": {"type": "keyword", "index": False},
        "image_index": {"type": "integer", "index": False},
        "revision": {"type": "long"},
        "text_model": {"type": "keyword"},
        "clip_model": {"type": "keyword"},
        "emitted_at": {"type": "date"},
        "indexed_at": {"type": "date"},
        "text_vector": _vector(space.text_dimensions, index_type),
    }
    if space.clip_dimensions is not None:
        properties["clip_vector"] = _vector(space.clip_dimensions, index_type)
    return {
        "settings": {**layout.as_settings(), "refresh_interval": refresh_interval},
        "mappings": {"dynamic": "strict", "_meta": space.as_meta(), "properties": properties},
    }


LIVE_MANIFESTS: dict[str, Any] = {"bool": {"must_not": [{"term": {"deleted": True}}]}}
"""The documents index's query for documents that are indexed (a delete leaves a
tombstone manifest)."""


def documents_index_body(layout: IndexLayout = IndexLayout()) -> dict[str, Any]:
    """Manifests are stored whole (``enabled: false`` for the chunk list) and found by id."""
    return {
        "settings": layout.as_settings(),
        "mappings": {
            "dynamic": "strict",
            "properties": {
                "doc_id": {"type": "keyword"},
                "revision": {"type": "long"},
                "deleted": {"type": "boolean"},
                "source": {"type": "keyword"},
                "uri": {"type": "keyword"},
                "content_sha256": {"type": "keyword"},
                "chunk_count": {"type": "integer"},
                "indexed_at": {"type": "date"},
                "manifest": {"type": "object", "enabled": False},
            },
        },
    }
