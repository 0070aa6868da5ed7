"""The bare default text encoder over the corpus's own chunks, in-process: the rate the
whole pipeline is compared with."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

from indexer.chunks import ChunkingOptions, build_chunks
from indexer.encoders.base import TextEmbedder
from indexer.errors import IndexerError
from indexer.events import derive_doc_id
from indexer.extract import extract_document
from indexer.settings import IndexerSettings
from indexer.vectors import text_for_text_model

logger = logging.getLogger(__name__)

WARM_UP_TEXTS = 16
SAMPLE_PAGES = 80


def evenly(items: Sequence[Path], count: int) -> list[Path]:
    """``count`` items spread over the whole sequence (all of them if fewer)."""
    if count >= len(items):
        return list(items)
    step = len(items) / count
    return [items[int(index * step)] for index in range(count)]


def corpus_texts(
    pages: Sequence[Path], encoder: TextEmbedder, settings: IndexerSettings, wanted: int
) -> list[str]:
    """The texts the text model embeds for chunks of pages spread over the corpus (as the
    pipeline chunks them), about ``wanted`` of them."""
    options = ChunkingOptions(
        settings.chunk_max_tokens, settings.chunk_overlap_tokens, tokenizer=encoder
    )
    texts: list[str] = []
    for page in evenly(pages, SAMPLE_PAGES):
        if len(texts) >= wanted:
            break
        try:
            document = extract_document(page.read_bytes(), None, name=page.name)
        except IndexerError as error:  # the pipeline would dead-letter it: not sampled
            logger.info("bare sample skips %s: %s", page.name, error)
            continue
        chunks = build_chunks(derive_doc_id("fs:bare", page.name), document, options)
        texts.extend(text_for_text_model(chunk) for chunk in chunks if chunk.image is None)
    return texts[:wanted]


def bare_seconds(encoder: TextEmbedder, texts: Sequence[str]) -> float:
    """Seconds to embed ``texts`` (after a short warm-up, as a running worker is warm)."""
    encoder.embed_texts(list(texts[:WARM_UP_TEXTS]))
    started = time.perf_counter()
    encoder.embed_texts(list(texts))
    return time.perf_counter() - started
