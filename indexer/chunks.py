"""From an extracted document to content-addressed chunks (pure).

A chunk's id is a hash of its document, modality, normalised content and the number of
earlier chunks of the same document with the same content. So an unchanged paragraph keeps
its id whatever happens around it (its embedding is reused), an edited one gets a new id,
and repeated boilerplate in one document stays as separate chunks.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass

from indexer.chunking import chunk_text_parts, normalise_for_identity
from indexer.documents import ExtractedDocument, ImagePart, Modality
from indexer.manifest import ChunkPosition


@dataclass(frozen=True)
class ChunkingOptions:
    max_tokens: int = 200
    overlap_tokens: int = 40

    @property
    def version(self) -> str:
        return f"chunks/1:{self.max_tokens}:{self.overlap_tokens}"


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    modality: Modality
    position: ChunkPosition
    text: str
    """Text chunks: the text. Image chunks: what describes the image (alt, caption, name)."""
    context: str | None = None
    image: ImagePart | None = None
    image_sha256: str | None = None


def chunk_identity(doc_id: str, modality: Modality, content: str, occurrence: int) -> str:
    material = f"{doc_id}\x1f{modality.value}\x1f{content}\x1f{occurrence}"
    return hashlib.sha256(material.encode()).hexdigest()[:40]


def describe_image(image: ImagePart) -> str:
    pieces = [image.alt_text, image.caption, image.name]
    return " — ".join(piece.strip() for piece in pieces if piece and piece.strip())


def build_chunks(doc_id: str, document: ExtractedDocument, options: ChunkingOptions) -> list[Chunk]:
    seen: Counter[tuple[Modality, str]] = Counter()
    chunks: list[Chunk] = []

    def identity(modality: Modality, content: str) -> str:
        occurrence = seen[(modality, content)]
        seen[(modality, content)] += 1
        return chunk_identity(doc_id, modality, content, occurrence)

    drafts = chunk_text_parts(
        document.text_parts, max_tokens=options.max_tokens, overlap_tokens=options.overlap_tokens
    )
    for draft in drafts:
        chunk_id = identity(Modality.TEXT, normalise_for_identity(draft.text))
        position = ChunkPosition(
            chunk_id=chunk_id,
            modality=Modality.TEXT.value,
            order=len(chunks),
            page=draft.page,
            section=draft.section,
            char_start=draft.char_start,
            char_end=draft.char_end,
        )
        chunks.append(Chunk(chunk_id, Modality.TEXT, position, draft.text))

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
