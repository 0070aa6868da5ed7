"""Which retrievers run for which query and mode."""

from __future__ import annotations

import pytest

from query_api.errors import InvalidQuery
from query_api.planning import FusionPlan, PlannedRetriever, plan_fusion, plan_retrievers
from query_api.schemas import Mode, Profile, Retriever
from query_api.settings import ApiSettings

ALL = dict.fromkeys(Retriever, 1.0)
BOTH = ("text", "image")


def plan(
    *,
    text: bool = True,
    image: bool = False,
    mode: Mode = Mode.HYBRID,
    modalities: tuple[str, ...] = BOTH,
    clip: bool = True,
    weights: dict[Retriever, float] = ALL,
    profile: Profile = Profile.DEFAULT,
) -> list[PlannedRetriever]:
    return plan_retrievers(
        has_text=text,
        has_image=image,
        mode=mode,
        modalities=modalities,
        clip_available=clip,
        weights=weights,
        profile=profile,
    )


def test_text_query_hybrid_runs_bm25_text_knn_and_clip_over_images() -> None:
    assert plan() == [
        PlannedRetriever(Retriever.BM25, BOTH),
        PlannedRetriever(Retriever.TEXT_KNN, BOTH),
        PlannedRetriever(Retriever.CLIP_KNN, ("image",)),
    ]


def test_modes_select_retrievers() -> None:
    assert [p.retriever for p in plan(mode=Mode.LEXICAL)] == [Retriever.BM25]
    assert [p.retriever for p in plan(mode=Mode.VECTOR)] == [
        Retriever.TEXT_KNN,
        Retriever.CLIP_KNN,
    ]


def test_without_clip_text_queries_still_search_images_by_their_text() -> None:
    assert plan(clip=False) == [
        PlannedRetriever(Retriever.BM25, BOTH),
        PlannedRetriever(Retriever.TEXT_KNN, BOTH),
    ]


def test_image_query_searches_images_and_texts_by_clip() -> None:
    assert plan(text=False, image=True) == [
        PlannedRetriever(Retriever.CLIP_KNN, ("image",)),
        PlannedRetriever(Retriever.IMAGE_TEXT_KNN, ("text",)),
    ]


def test_text_and_image_the_image_drives_clip() -> None:
    assert [p.retriever for p in plan(image=True)] == [
        Retriever.BM25,
        Retriever.TEXT_KNN,
        Retriever.CLIP_KNN,
        Retriever.IMAGE_TEXT_KNN,
    ]


def test_modalities_narrow_each_retriever() -> None:
    assert plan(text=False, image=True, modalities=("image",)) == [
        PlannedRetriever(Retriever.CLIP_KNN, ("image",))
    ]
    assert plan(modalities=("text",)) == [
        PlannedRetriever(Retriever.BM25, ("text",)),
        PlannedRetriever(Retriever.TEXT_KNN, ("text",)),
    ]


def test_zero_weight_turns_a_retriever_off() -> None:
    weights = {**ALL, Retriever.CLIP_KNN: 0.0}
    assert Retriever.CLIP_KNN not in [p.retriever for p in plan(weights=weights)]


def test_image_without_clip_is_refused() -> None:
    with pytest.raises(InvalidQuery, match="image search needs a CLIP model"):
        plan(text=False, image=True, clip=False)


def test_image_in_lexical_mode_is_refused() -> None:
    with pytest.raises(InvalidQuery, match="lexical"):
        plan(image=True, mode=Mode.LEXICAL)


def test_nothing_to_search_is_refused() -> None:
    with pytest.raises(InvalidQuery, match="give a text query"):
        plan(text=False)
    with pytest.raises(InvalidQuery, match="nothing to search"):
        plan(mode=Mode.LEXICAL, weights={**ALL, Retriever.BM25: 0})


def test_plain_profile_runs_bm25_and_text_knn_only_never_clip() -> None:
    assert plan(profile=Profile.PLAIN) == [
        PlannedRetriever(Retriever.BM25, BOTH),
        PlannedRetriever(Retriever.TEXT_KNN, BOTH),
    ]
    assert plan(profile=Profile.PLAIN, mode=Mode.VECTOR) == [
        PlannedRetriever(Retriever.TEXT_KNN, BOTH)
    ]
    assert plan(profile=Profile.PLAIN, mode=Mode.LEXICAL) == [
        PlannedRetriever(Retriever.BM25, BOTH)
    ]


def test_plain_profile_ignores_configured_weights() -> None:
    off = {**ALL, Retriever.BM25: 0.0, Retriever.TEXT_KNN: 0.0}
    assert [p.retriever for p in plan(profile=Profile.PLAIN, weights=off)] == [
        Retriever.BM25,
        Retriever.TEXT_KNN,
    ]


def test_plain_profile_refuses_images() -> None:
    for text in (True, False):
        with pytest.raises(InvalidQuery, match="profile plain searches by text only"):
            plan(text=text, image=True, profile=Profile.PLAIN)


def test_plain_fusion_is_rrf_60_with_equal_weights_whatever_the_settings() -> None:
    tuned = ApiSettings(
        rrf_k=5, rank_window_size=200, weights={Retriever.BM25: 3.0, Retriever.TEXT_KNN: 0.5}
    )
    assert plan_fusion(profile=Profile.PLAIN, k=10, settings=tuned) == FusionPlan(60, 20)
    assert plan_fusion(profile=Profile.PLAIN, k=100, settings=tuned) == FusionPlan(60, 100)
    default = plan_fusion(profile=Profile.DEFAULT, k=10, settings=tuned)
    assert (default.k_constant, default.window) == (5, 200)
    assert default.weights == tuned.weights


def test_grouping_widens_each_retrievers_window_to_fill_k_documents() -> None:
    settings = ApiSettings(rank_window_size=20, group_window_factor=5)
    assert plan_fusion(profile=Profile.DEFAULT, k=10, settings=settings).window == 20
    assert plan_fusion(profile=Profile.DEFAULT, k=10, settings=settings, grouped=True).window == 50
    assert plan_fusion(profile=Profile.DEFAULT, k=2, settings=settings, grouped=True).window == 20
    wide = ApiSettings(group_window_factor=50)
    assert plan_fusion(profile=Profile.DEFAULT, k=100, settings=wide, grouped=True).window == 1000


def test_a_request_may_override_the_rrf_constant_and_some_weights() -> None:
    settings = ApiSettings(rrf_k=60, weights={Retriever.BM25: 2.0})
    fusion = plan_fusion(
        profile=Profile.DEFAULT,
        k=10,
        settings=settings,
        rrf_k=7,
        weights={Retriever.TEXT_KNN: 0.5},
    )
    assert fusion.k_constant == 7
    assert fusion.weights == {**settings.weights, Retriever.TEXT_KNN: 0.5}
    assert fusion.weights[Retriever.BM25] == 2.0
    plain = plan_fusion(profile=Profile.PLAIN, k=10, settings=settings, rrf_k=7, weights={})
    assert plain == FusionPlan(60, 20)
