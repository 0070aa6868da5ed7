"""Which retrievers a search runs, over which modalities (pure).

    text query   BM25            (hybrid, lexical)   text and image chunks (descriptions)
                 TEXT_KNN        (hybrid, vector)    text and image chunks (MiniLM vectors)
                 CLIP_KNN        (hybrid, vector)    image chunks: text → image
    image query  CLIP_KNN        (hybrid, vector)    image chunks: image → image
                 IMAGE_TEXT_KNN  (hybrid, vector)    text chunks' CLIP vectors: image → text

With both a text and an image, the image drives the CLIP retrievers and the text drives
BM25 and TEXT_KNN. Each retriever's modalities are intersected with the requested ones; a
retriever whose weight is 0, or whose modalities are not requested, does not run.

The ``plain`` profile is the baseline: BM25 and TEXT_KNN only, never CLIP, every weight 1
(the configured weights are ignored), text queries only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from query_api.errors import InvalidQuery
from query_api.schemas import Mode, Profile, Retriever
from query_api.settings import MAX_RANK_WINDOW, ApiSettings

TEXT, IMAGE = "text", "image"
NEEDS_CLIP = "image search needs a CLIP model (MMRAG_CLIP_MODEL) and an index with CLIP vectors"
PLAIN_TEXT_ONLY = "profile plain searches by text only: drop the image or use profile default"


PLAIN_RRF_K = 60
PLAIN_RANK_WINDOW = 20
"""The ``plain`` profile's fusion: RRF with the usual constant over each retriever's top
``max(k, 20)``, whatever the settings say."""


@dataclass(frozen=True)
class PlannedRetriever:
    retriever: Retriever
    modalities: tuple[str, ...]


@dataclass(frozen=True)
class FusionPlan:
    """How the retrievers' rankings are fused: RRF's constant, the weights, and how many
    candidates each retriever returns (``window``)."""

    k_constant: int
    window: int
    weights: Mapping[Retriever, float] = field(default_factory=dict)


def plan_fusion(
    *,
    profile: Profile,
    k: int,
    settings: ApiSettings,
    grouped: bool = False,
    rrf_k: int | None = None,
    weights: Mapping[Retriever, float] | None = None,
) -> FusionPlan:
    """``grouped``: k counts documents, so each retriever returns ``group_window_factor``
    times more candidates (several chunks of a document may rank high). ``rrf_k`` and
    ``weights`` override the settings for one request (the plain profile takes neither)."""
    if profile is Profile.PLAIN:
        return FusionPlan(PLAIN_RRF_K, max(k, PLAIN_RANK_WINDOW))
    window = max(k, settings.rank_window_size)
    if grouped:
        window = min(MAX_RANK_WINDOW, max(window, k * settings.group_window_factor))
    return FusionPlan(rrf_k or settings.rrf_k, window, {**settings.weights, **(weights or {})})


def plan_retrievers(
    *,
    has_text: bool,
    has_image: bool,
    mode: Mode,
    modalities: Sequence[str],
    clip_available: bool,
    weights: Mapping[Retriever, float],
    profile: Profile = Profile.DEFAULT,
) -> list[PlannedRetriever]:
    if not has_text and not has_image:
        raise InvalidQuery("give a text query, an image, or both")
    if profile is Profile.PLAIN:
        if has_image:
            raise InvalidQuery(PLAIN_TEXT_ONLY)
        clip_available, weights = False, {}
    if has_image and not clip_available:
        raise InvalidQuery(NEEDS_CLIP)
    if has_image and mode is Mode.LEXICAL:
        raise InvalidQuery("lexical mode searches words only: drop the image or use hybrid/vector")
    wanted: list[tuple[Retriever, tuple[str, ...]]] = []
    lexical = mode in (Mode.HYBRID, Mode.LEXICAL)
    vector = mode in (Mode.HYBRID, Mode.VECTOR)
    if has_text and lexical:
        wanted.append((Retriever.BM25, (TEXT, IMAGE)))
    if has_text and vector:
        wanted.append((Retriever.TEXT_KNN, (TEXT, IMAGE)))
    if vector and clip_available and has_image:
        wanted.append((Retriever.CLIP_KNN, (IMAGE,)))
        wanted.append((Retriever.IMAGE_TEXT_KNN, (TEXT,)))
    elif vector and clip_available and has_text:
        wanted.append((Retriever.CLIP_KNN, (IMAGE,)))
    plan = []
    for retriever, natural in wanted:
        searched = tuple(m for m in natural if m in modalities)
        if searched and weights.get(retriever, 1.0) > 0:
            plan.append(PlannedRetriever(retriever, searched))
    if not plan:
        raise InvalidQuery(
            f"nothing to search: mode {mode.value} with modalities {list(modalities)} "
            "runs no retriever for this query"
        )
    return plan
