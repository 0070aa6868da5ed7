"""What a generation is: its configuration and its lifecycle, as kept in its mapping's
``_meta`` (pure: (de)serialised and unit-tested without Elasticsearch).

The top-level keys ``text_model``, ``text_dimensions``, ``clip_model`` and
``clip_dimensions`` are those every mmrag generation has always carried (``VectorSpace``),
so older readers keep working; everything else sits under ``generation``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from indexer.store.mappings import VectorSpace

State = Literal["building", "ready", "live", "retired"]
DEFAULT_RUNTIME = "torch"
"""The text encoder runtime of a generation that does not say (all before runtimes)."""


def runtime_named_in(text_model: str) -> str:
    """The runtime a text encoder's name says it ran on (``x@onnx-int8``), for a
    generation that does not record one (generation 1 is made with the vector space's
    keys only); ``torch`` for a plain name (torch and ONNX fp32 make the same vectors)."""
    return "onnx-int8" if text_model.endswith("@onnx-int8") else DEFAULT_RUNTIME


class GenerationMetaError(ValueError):
    """A generation's ``_meta`` cannot be read (hand-edited, or from an unknown mmrag)."""


def documents_index_in(meta: dict[str, Any]) -> str | None:
    """The documents index a generation's ``_meta`` names, ``None`` for the shared one. A
    ``_meta`` that is not a generation's (an index made by hand, an unknown mmrag) names
    none: its manifests can only be in the shared index."""
    try:
        return GenerationMeta.from_meta(meta).documents_index
    except GenerationMetaError:
        return None


class GenerationConfig(BaseModel):
    """Everything that decides a generation's vectors and chunk ids."""

    model_config = ConfigDict(frozen=True)

    text_model: str
    text_dimensions: int
    clip_model: str | None = None
    clip_dimensions: int | None = None
    runtime: str = DEFAULT_RUNTIME
    """The encoder runtime it was built with (``torch``, ``onnx``, ``onnx-int8``); a
    runtime that changes vectors is also in the encoder names (``@onnx-int8``)."""
    chunking: str | None = None
    """The chunk pipeline version (``ChunkingOptions.version``); ``None``: not recorded."""
    chunk_max_tokens: int | None = None
    """The chunker's ``max_tokens`` it was built with; ``None``: not recorded (the
    worker's ``MMRAG_CHUNK_MAX_TOKENS``)."""
    chunk_overlap_tokens: int | None = None
    """The chunker's ``overlap_tokens``; ``None``: not recorded (the worker's setting)."""

    @property
    def space(self) -> VectorSpace:
        return VectorSpace(
            self.text_model, self.text_dimensions, self.clip_model, self.clip_dimensions
        )

    def describe(self) -> str:
        clip = self.clip_model or "no CLIP"
        return f"text {self.text_model} · CLIP {clip} ({self.runtime})"


class BuildProgress(BaseModel):
    """Where a build stands; saved after every batch so an interrupted build resumes."""

    source: str | None = None
    """The generation it copies from (the live one when it started)."""
    cursor: str | None = None
    """The last document id copied (documents are copied in ``_id`` order)."""
    documents_total: int = 0
    documents_done: int = 0
    chunks_copied: int = 0
    text_vectors_reused: int = 0
    text_vectors_embedded: int = 0
    clip_vectors_reused: int = 0
    clip_vectors_embedded: int = 0
    images_unreadable: int = 0
    """Image chunks kept without a CLIP vector: their image could not be read again."""
    seconds: float = 0.0
    finished: bool = False

    @property
    def reused_share(self) -> float:
        reused = self.text_vectors_reused + self.clip_vectors_reused
        total = reused + self.text_vectors_embedded + self.clip_vectors_embedded
        return reused / total if total else 0.0

    def eta_seconds(self) -> float | None:
        """Seconds left at the pace so far (``None`` before there is a pace)."""
        if self.finished:
            return 0.0
        if not self.documents_done or not self.seconds:
            return None
        left = max(0, self.documents_total - self.documents_done)
        return left * self.seconds / self.documents_done


class GenerationMeta(BaseModel):
    model_config = ConfigDict(frozen=True)

    config: GenerationConfig
    state: State = "building"
    created: datetime | None = Field(default_factory=lambda: datetime.now(UTC))
    """``None``: made before generations were recorded."""
    build: BuildProgress = Field(default_factory=BuildProgress)
    evaluation: dict[str, dict[str, float]] = Field(default_factory=dict)
    """The last promotion gate's figures: ``{generation name: {metric: value}}``."""
    promoted: datetime | None = None
    documents_index: str | None = None
    """Where this generation's manifests are: ``None`` for the shared documents index
    (``MMRAG_DOCUMENTS_INDEX``, every generation that chunks like generation 1); its own
    index (``naming.generation_documents_index``) for a generation whose chunking
    differs, whose chunk ids and so manifests differ."""

    def documents_index_or(self, shared: str) -> str:
        """The index holding this generation's manifests (``shared``: the configured
        documents index)."""
        return self.documents_index or shared

    def to_meta(self) -> dict[str, Any]:
        """The mapping's ``_meta`` (the four ``VectorSpace`` keys stay at the top)."""
        meta = self.config.space.as_meta()
        meta["generation"] = self.model_dump(mode="json", exclude={"config"}) | {
            "runtime": self.config.runtime,
            "chunking": self.config.chunking,
            "chunk_max_tokens": self.config.chunk_max_tokens,
            "chunk_overlap_tokens": self.config.chunk_overlap_tokens,
        }
        return meta

    @classmethod
    def from_meta(cls, meta: dict[str, Any], *, live: bool = False) -> GenerationMeta:
        """Read a ``_meta``; one without the ``generation`` section (generation 1 made by
        an older mmrag) is ``live`` when the alias points at it, else ``retired``."""
        section = dict(meta.get("generation") or {})
        try:
            config = GenerationConfig(
                text_model=meta["text_model"],
                text_dimensions=meta["text_dimensions"],
                clip_model=meta.get("clip_model"),
                clip_dimensions=meta.get("clip_dimensions"),
                runtime=section.pop("runtime", None) or runtime_named_in(meta["text_model"]),
                chunking=section.pop("chunking", None),
                chunk_max_tokens=section.pop("chunk_max_tokens", None),
                chunk_overlap_tokens=section.pop("chunk_overlap_tokens", None),
            )
            if not section:
                return cls(config=config, state="live" if live else "retired", created=None)
            return cls.model_validate({"config": config, **section})
        except (KeyError, ValidationError) as error:
            raise GenerationMetaError(f"unreadable generation _meta: {error}") from error
