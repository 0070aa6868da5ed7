"""From an extracted document to content-addressed chunks (pure).

A chunk's id is a hash of its document, modality, normalised content and the number of
earlier chunks of the same document with the same content. So an unchanged paragraph keeps
its id whatever happens around it (its embedding is reused), an edited one gets a new id,
and repeated boilerplate in one document stays as separate chunks.

A text chunk is embedded with its **context**, the document's title and the heading path
of its section (``Joins Between Tables > Outer joins``), put before its text: a chunk
that says "In this case the commands print nothing" is then about something. The stored
text stays the exact slice of the document. The context is part of the content that the
id hashes (when there is one), since it is part of what was embedded: renaming a document
or a heading re-embeds its chunks instead of keeping vectors of the old context.

With a ``TokenCounter`` (the text encoder's own tokenizer) chunks are sized in its
tokens, so that context plus chunk always fits the encoder's window: a chunk holds at
most ``min(max_tokens, window - context_tokens)`` tokens, and the context is cut to
``context_tokens``.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from indexer.chunking import approximate_token_count, chunk_text_parts, normalise_for_identity
from indexer.documents import ExtractedDocument, ImagePart, Modality
from indexer.encoders.base import TokenCounter
from indexer.extract.titles import strip_numbering
from indexer.manifest import ChunkPosition

CONTEXT_SEPARATOR = "\n\n"
"""Between a chunk's context and its text, in what is embedded."""
_COUNT_CACHE = 8192


@dataclass(frozen=True)
class ChunkingOptions:
    max_tokens: int = 200
    overlap_tokens: int = 40
    tokenizer: TokenCounter | None = None
    """The text encoder's token counter; None: estimate tokens (``approximate_token_count``)
    and trust ``max_tokens`` to fit the encoder."""
    context_tokens: int = 48
    """Most tokens of title and heading path put before a chunk's text for embedding."""

    @property
    def chunk_tokens(self) -> int:
        """Most tokens of one chunk: ``max_tokens``, less if the encoder's window minus the
        context budget is smaller."""
        if self.tokenizer is None:
            return self.max_tokens
        room = self.tokenizer.max_input_tokens - self.context_tokens
        return max(8, min(self.max_tokens, room))

    @property
    def chunk_overlap(self) -> int:
        return min(self.overlap_tokens, self.chunk_tokens // 4)

    @property
    def version(self) -> str:
        counter = self.tokenizer.tokenizer_name if self.tokenizer is not None else "estimate"
        return (
            f"chunks/2:{self.chunk_tokens}:{self.chunk_overlap}:{counter}:"
            f"context={self.context_tokens}"
        )

    def counter(self) -> Callable[[str], int]:
        """A token counter for one document (memoised: chunking asks about the same
        sentences more than once)."""
        count = (
            self.tokenizer.count_tokens if self.tokenizer is not None else approximate_token_count
        )
        return lru_cache(maxsize=_COUNT_CACHE)(count)


def chunk_context(
    title: str | None, section: str | None, count: Callable[[str], int], budget: int
) -> str:
    """``Title > Heading > Subheading`` within ``budget`` tokens ("" when there is none).

    A heading that is the title (``2.6. Joins Between Tables`` under the title ``Joins
    Between Tables``) stands for it where it is (after a parent chapter, say) instead of
    being repeated; over budget, middle names go first, then trailing words.
    """
    names = [name.strip() for name in (section or "").split(" > ") if name.strip()]
    title = (title or "").strip()
    if title:
        folded = title.casefold()
        same = [i for i, name in enumerate(names) if strip_numbering(name).casefold() == folded]
        if same:
            names[same[0]] = title
        else:
            names.insert(0, title)
    if not names or budget <= 0:
        return ""
    context = " > ".join(names)
    while count(context) > budget and len(names) > 2:
        del names[1]
        context = " > ".join(names)
    if count(context) <= budget:
        return context
    words = context.split()
    low, high = 0, len(words)  # the longest prefix of words that fits
    while low < high:
        middle = (low + high + 1) // 2
        if count(" ".join(words[:middle])) <= budget:
            low = middle
        else:
            high = middle - 1
    return " ".join(words[:low])


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    modality: Modality
    position: ChunkPosition
    text: str
    """Text chunks: the text. Image chunks: what describes the image (alt, caption, name)."""
    context: str | None = None
    """Image chunks: the words around the image (stored and searchable)."""
    embedding_context: str = ""
    """Text chunks: title and heading path, embedded before the text (never stored)."""
    image: ImagePart | None = None
    image_sha256: str | None = None


def chunk_identity(doc_id: str, modality: Modality, content: str, occurrence: int) -> str:
    material = f"{doc_id}\x1f{modality.value}\x1f{content}\x1f{occurrence}"
    return hashlib.sha256(material.encode()).hexdigest()[:40]


def describe_image(image: ImagePart) -> str:
    pieces = [image.alt_text, image.caption, image.name]
    return " — ".join(piece.strip() for piece in pieces if piece and piece.strip())


def embedded_text(chunk: Chunk) -> str:
    """What the text encoder reads for a text chunk: its context, then its text."""
    if not chunk.embedding_context:
        return chunk.text
    return f"{chunk.embedding_context}{CONTEXT_SEPARATOR}{chunk.text}"


def build_chunks(
    doc_id: str,
    document: ExtractedDocument,
    options: ChunkingOptions,
    title: str | None = None,
) -> list[Chunk]:
    """The document's chunks; ``title`` (default: the extracted one) goes into the context
    of text chunks."""
    title = title if title is not None else document.title
    count = options.counter()
    contexts: dict[str | None, str] = {}
    seen: Counter[tuple[Modality, str]] = Counter()
    chunks: list[Chunk] = []

    def identity(modality: Modality, content: str) -> str:
        occurrence = seen[(modality, content)]
        seen[(modality, content)] += 1
        return chunk_identity(doc_id, modality, content, occurrence)

    drafts = chunk_text_parts(
        document.text_parts,
        max_tokens=options.chunk_tokens,
        overlap_tokens=options.chunk_overlap,
        count_tokens=count,
    )
    for draft in drafts:
        if draft.section not in contexts:
            contexts[draft.section] = chunk_context(
                title, draft.section, count, options.context_tokens
            )
        context = contexts[draft.section]
        content = f"{context}{CONTEXT_SEPARATOR}{draft.text}" if context else draft.text
        chunk_id = identity(Modality.TEXT, normalise_for_identity(content))
        position = ChunkPosition(
            chunk_id=chunk_id,
            modality=Modality.TEXT.value,
            order=len(chunks),
            page=draft.page,
            section=draft.section,
            char_start=draft.char_start,
            char_end=draft.char_end,
        )
        chunks.append(
            Chunk(chunk_id, Modality.TEXT, position, draft.text, embedding_context=context)
        )

    for image in document.image_parts:
        image_sha256 = hashlib.sha256(image.data or (image.reference or "").encode()).hexdigest()
        description = describe_image(image)
        chunk_id = identity(
            Modality.IMAGE, f"{image_sha256}\x1f{normalise_for_identity(description)}"
        )
        bbox = image.bbox
        position = ChunkPosition(
            chunk_id=chunk_id,
            modality=Modality.IMAGE.value,
            order=len(chunks),
            page=image.page,
            bbox=(bbox.x0, bbox.y0, bbox.x1, bbox.y1) if bbox is not None else None,
        )
        chunks.append(
            Chunk(
                chunk_id,
                Modality.IMAGE,
                position,
                description,
                context=image.context,
                image=image,
                image_sha256=image_sha256,
            )
        )
    return chunks
