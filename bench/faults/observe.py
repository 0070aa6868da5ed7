"""Reading back what the system made of the load: manifests, chunks, dead letters."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from elasticsearch import AsyncElasticsearch
from elasticsearch.helpers import async_scan

from bench.faults.audit import Findings, StoredChunk, StoredManifest, audit
from indexer.chunks import ChunkingOptions, build_chunks
from indexer.encoders.settings import EncoderSettings
from indexer.errors import IndexerError
from indexer.extract import extract_document
from indexer.manifest import Manifest
from indexer.settings import IndexerSettings
from stream.dead_letters.selection import StoredLetter
from stream.dead_letters.topic import read_dead_letters
from stream.watcher.events import content_type_of


@dataclass(frozen=True)
class IndexState:
    manifests: list[Manifest]
    chunks: list[StoredChunk]


async def read_index(client: AsyncElasticsearch, settings: IndexerSettings) -> IndexState:
    """Every manifest and every chunk (id and document) the indexes hold now."""
    manifests: list[Manifest] = []
    chunks: list[StoredChunk] = []
    if await client.indices.exists(index=settings.documents_index):
        await client.indices.refresh(index=settings.documents_index)
        async for hit in async_scan(
            client, index=settings.documents_index, query={"query": {"match_all": {}}}
        ):
            manifests.append(Manifest.model_validate(hit["_source"]["manifest"]))
    if await client.indices.exists(index=settings.chunks_alias):
        await client.indices.refresh(index=settings.chunks_alias)
        async for hit in async_scan(
            client,
            index=settings.chunks_alias,
            query={"query": {"match_all": {}}, "_source": ["chunk_id", "doc_id"]},
        ):
            source: dict[str, Any] = hit["_source"]
            chunks.append(StoredChunk(str(source["chunk_id"]), str(source["doc_id"])))
    return IndexState(manifests, chunks)


def current_files(folder: Path) -> dict[str, bytes]:
    """URI → bytes of every regular file under ``folder`` (what the index should hold)."""
    return {
        path.resolve().as_uri(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


def expected_chunk_ids(
    manifests: Iterable[Manifest], files: dict[str, bytes], options: ChunkingOptions
) -> tuple[dict[str, frozenset[str]], int]:
    """The chunk ids each live manifest's file gives today, recomputed with the pipeline's
    own extraction and chunking (only where the manifest says it was chunked with the same
    options); also how many manifests could not be recomputed."""
    expected: dict[str, frozenset[str]] = {}
    skipped = 0
    for manifest in manifests:
        uri = manifest.fields.uri if manifest.fields else None
        if manifest.deleted or uri not in files:
            continue
        if manifest.pipeline_version != options.version:
            skipped += 1
            continue
        data = files[uri]
        name = uri.rstrip("/").rsplit("/", 1)[-1]
        try:
            document = extract_document(data, content_type_of(name), name=name)
        except IndexerError:
            skipped += 1
            continue
        # as the pipeline titles a file: its own title, else its name
        chunks = build_chunks(manifest.doc_id, document, options, document.title or name)
        expected[manifest.doc_id] = frozenset(chunk.chunk_id for chunk in chunks)
    return expected, skipped


def stored_manifests(manifests: Iterable[Manifest]) -> list[StoredManifest]:
    return [
        StoredManifest(
            doc_id=manifest.doc_id,
            uri=manifest.fields.uri if manifest.fields else None,
            deleted=manifest.deleted,
            content_sha256=manifest.content_sha256,
            chunk_ids=tuple(manifest.chunk_ids),
        )
        for manifest in manifests
    ]


@lru_cache(maxsize=2)
def chunking_options(max_tokens: int, overlap_tokens: int) -> ChunkingOptions:
    """The worker's chunking: sized with the text encoder's own tokenizer."""
    from indexer.encoders.sentence_transformer import SentenceTransformerEmbedder

    settings = EncoderSettings(clip_model="", threads=1)
    tokenizer = SentenceTransformerEmbedder(settings.text_model, settings)
    return ChunkingOptions(max_tokens, overlap_tokens, tokenizer=tokenizer)


@dataclass(frozen=True)
class Audit:
    findings: Findings
    recomputed: int
    not_recomputed: int


async def audit_folder(
    client: AsyncElasticsearch, settings: IndexerSettings, folder: Path
) -> Audit:
    state = await read_index(client, settings)
    files = current_files(folder)
    options = chunking_options(settings.chunk_max_tokens, settings.chunk_overlap_tokens)
    expected, skipped = expected_chunk_ids(state.manifests, files, options)
    hashes = {uri: hashlib.sha256(data).hexdigest() for uri, data in files.items()}
    findings = audit(hashes, stored_manifests(state.manifests), state.chunks, expected)
    return Audit(findings, len(expected), skipped)


async def dead_letters(bootstrap: str, topic: str) -> list[StoredLetter]:
    try:
        return await read_dead_letters(bootstrap, topic, timeout_s=30.0)
    except Exception as error:  # a topic never written is "no letters", not a failure
        if "UnknownTopic" in type(error).__name__ or "does not exist" in str(error):
            return []
        raise


def letter_reasons(letters: Iterable[StoredLetter], limit: int = 3) -> str:
    """The commonest stage: reason pairs, for a table cell."""
    counts: Counter[str] = Counter()
    for stored in letters:
        letter = stored.letter
        text = (
            f"{letter.stage}: {letter.reason[:80]}" if letter else f"unreadable: {stored.problem}"
        )
        counts[text] += 1
    return "; ".join(f"{count}× {text}" for text, count in counts.most_common(limit))
