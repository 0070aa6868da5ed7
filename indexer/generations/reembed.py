"""A chunk as another generation stores it: the same fields, the vectors that generation's
models make (runs in a worker thread: CPU-bound).

What each vector was made from is in the stored chunk: a text chunk's text vector reads
its context (title and heading path, as the chunker built it) and text; an image chunk's
reads its description, the text read in it and the words around it; a CLIP vector reads a
text chunk's text or the image itself (read again by the caller).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from indexer.chunks import CONTEXT_SEPARATOR, ChunkingOptions, chunk_context
from indexer.documents import Modality
from indexer.encoders.base import Encoders
from indexer.encoders.settings import DEFAULT_IMAGE_MAX_SIDE
from indexer.generations.reuse import ReusePlan, VectorAction
from indexer.vectors import CONTEXT_CHARS, OCR_CHARS

logger = logging.getLogger(__name__)


@dataclass
class ReembedCounts:
    text_reused: int = 0
    text_embedded: int = 0
    clip_reused: int = 0
    clip_embedded: int = 0
    images_unreadable: int = 0


def text_model_input(source: Mapping[str, Any], options: ChunkingOptions) -> str:
    """What the text model read for this stored chunk (``indexer.vectors``' rules)."""
    text = str(source.get("text") or "")
    if source.get("modality") == Modality.IMAGE.value:
        context = str(source.get("context") or "").strip()[:CONTEXT_CHARS]
        ocr = str(source.get("ocr_text") or "").strip()[:OCR_CHARS]
        return " — ".join(part for part in (text.strip(), ocr, context) if part)
    context = chunk_context(
        source.get("title"), source.get("section"), options.counter(), options.context_tokens
    )
    return f"{context}{CONTEXT_SEPARATOR}{text}" if context else text


def plan_for_source(source: Mapping[str, Any], encoders: Encoders) -> ReusePlan:
    """What a chunk written with some models needs for ``encoders``: its own record of
    the models (``text_model``, ``clip_model``) says which vectors can stay."""
    text: VectorAction = "copy" if source.get("text_model") == encoders.text.name else "embed"
    clip: VectorAction
    if encoders.clip is None:
        clip = "drop"
    elif source.get("clip_model") == encoders.clip.name:
        clip = "copy"
    else:
        clip = "embed"
    return ReusePlan(text=text, clip=clip)


def reembed(
    sources: Sequence[Mapping[str, Any]],
    plans: Sequence[ReusePlan],
    encoders: Encoders,
    images: Mapping[str, bytes],
    *,
    max_image_pixels: int,
    image_max_side: int = DEFAULT_IMAGE_MAX_SIDE,
    counts: ReembedCounts | None = None,
) -> list[dict[str, Any]]:
    """The chunks with vectors for ``encoders`` (one plan per chunk); ``images``: chunk id
    → image bytes, for image chunks whose CLIP vector must be made again (one missing is
    kept without a CLIP vector and counted ``images_unreadable``)."""
    from indexer.extract.images import load_rgb_for_model

    counts = counts if counts is not None else ReembedCounts()
    options = ChunkingOptions(tokenizer=encoders.text)
    out = [dict(source) for source in sources]
    text_jobs: list[int] = []
    clip_texts: list[int] = []
    clip_images: list[tuple[int, Any]] = []
    for number, (chunk, plan) in enumerate(zip(out, plans, strict=True)):
        had_text = "text_vector" in chunk
        if plan.text == "embed" and (had_text or text_model_input(chunk, options)):
            text_jobs.append(number)
        elif plan.text == "copy" and had_text:
            counts.text_reused += 1
        if plan.clip == "drop":
            chunk.pop("clip_vector", None)
            chunk.pop("clip_model", None)
        elif plan.clip == "copy" and "clip_vector" in chunk:
            counts.clip_reused += 1
        elif plan.clip == "embed":
            chunk.pop("clip_vector", None)
            chunk.pop("clip_model", None)
            if chunk.get("modality") != Modality.IMAGE.value:
                clip_texts.append(number)
                continue
            data = images.get(str(chunk.get("chunk_id")))
            try:
                if data is None:
                    raise ValueError("image not read")
                image = load_rgb_for_model(
                    data, max_side=image_max_side, max_pixels=max_image_pixels
                )
            except Exception as error:
                counts.images_unreadable += 1
                logger.warning(
                    "image_unreadable chunk_id=%s reason=%s", chunk.get("chunk_id"), error
                )
                continue
            clip_images.append((number, image))
    if text_jobs:
        rows = encoders.text.embed_texts([text_model_input(out[n], options) for n in text_jobs])
        for row, number in zip(rows, text_jobs, strict=True):
            out[number]["text_vector"] = row.tolist()
            out[number]["text_model"] = encoders.text.name
        counts.text_embedded += len(text_jobs)
    clip = encoders.clip
    if clip is not None and clip_texts:
        rows = clip.embed_texts([str(out[n].get("text") or "") for n in clip_texts])
        for row, number in zip(rows, clip_texts, strict=True):
            out[number]["clip_vector"] = row.tolist()
            out[number]["clip_model"] = clip.name
        counts.clip_embedded += len(clip_texts)
    if clip is not None and clip_images:
        rows = clip.embed_images([image for _, image in clip_images])
        for row, (number, _) in zip(rows, clip_images, strict=True):
            out[number]["clip_vector"] = row.tolist()
            out[number]["clip_model"] = clip.name
        counts.clip_embedded += len(clip_images)
    return out


def needs_image(source: Mapping[str, Any], plan: ReusePlan) -> bool:
    return plan.clip == "embed" and source.get("modality") == Modality.IMAGE.value
