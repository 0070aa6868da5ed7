"""API settings from the environment, API keys and who sees what."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from query_api.access import ANONYMOUS, Caller, identify_caller, may_read
from query_api.errors import Unauthorized
from query_api.schemas import Retriever
from query_api.settings import ApiKey, ApiSettings, KnnCandidates


def test_defaults() -> None:
    settings = ApiSettings()
    assert settings.port == 8000
    assert settings.api_keys == {}
    assert settings.require_api_key is False
    assert settings.weights == {**dict.fromkeys(Retriever, 1.0), Retriever.TEXT_KNN: 2.0}
    assert settings.max_upload_bytes == 10 * 1024 * 1024
    assert settings.thumbnail_max_side == 256
    assert settings.cors_origins == []


def test_api_keys_parse_from_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "MMRAG_API_KEYS",
        '{"k-1": {"name": "alice", "principals": ["team-a", "alice"]}, "k-2": {"name": "bot"}}',
    )
    monkeypatch.setenv("MMRAG_API_REQUIRE_API_KEY", "true")
    settings = ApiSettings()
    assert settings.api_keys == {
        "k-1": ApiKey(name="alice", principals=("team-a", "alice")),
        "k-2": ApiKey(name="bot"),
    }
    assert settings.require_api_key is True


def test_bad_api_keys_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMRAG_API_KEYS", '{"k": {"principals": ["x"]}}')
    with pytest.raises(ValidationError, match="name"):
        ApiSettings()
    monkeypatch.setenv("MMRAG_API_KEYS", '{" ": {"name": "blank"}}')
    with pytest.raises(ValidationError, match="blank"):
        ApiSettings()


def test_weights_merge_with_defaults_and_refuse_negatives(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMRAG_API_WEIGHTS", '{"bm25": 0.5, "clip_knn": 0}')
    weights = ApiSettings().weights
    assert weights[Retriever.BM25] == 0.5
    assert weights[Retriever.CLIP_KNN] == 0
    assert weights[Retriever.TEXT_KNN] == 2.0
    monkeypatch.setenv("MMRAG_API_WEIGHTS", '{"bm25": -1}')
    with pytest.raises(ValidationError, match="≥ 0"):
        ApiSettings()
    monkeypatch.setenv("MMRAG_API_WEIGHTS", '{"colbert": 1}')
    with pytest.raises(ValidationError):
        ApiSettings()


def test_num_candidates_per_retriever() -> None:
    settings = ApiSettings(
        knn_candidates={Retriever.CLIP_KNN: KnnCandidates(factor=10, minimum=100)}
    )
    assert settings.num_candidates(Retriever.TEXT_KNN, 5) == 50
    assert settings.num_candidates(Retriever.TEXT_KNN, 20) == 100
    assert settings.num_candidates(Retriever.CLIP_KNN, 5) == 100
    assert settings.num_candidates(Retriever.CLIP_KNN, 50) == 500
    assert settings.num_candidates(Retriever.CLIP_KNN, 5000) == 10_000


KEYS = {"secret-a": ApiKey(name="alice", principals=("team-a",)), "secret-b": ApiKey(name="bob")}


def test_a_known_key_gives_its_principals() -> None:
    assert identify_caller("secret-a", KEYS, required=True) == Caller("alice", ("team-a",))
    assert identify_caller("secret-b", KEYS, required=False) == Caller("bob", ())


def test_no_key_is_anonymous_unless_keys_are_required() -> None:
    assert identify_caller(None, KEYS, required=False) is ANONYMOUS
    assert identify_caller("", KEYS, required=False) is ANONYMOUS
    with pytest.raises(Unauthorized, match="X-API-Key"):
        identify_caller(None, KEYS, required=True)


@pytest.mark.parametrize("required", [True, False])
def test_an_unknown_key_is_refused_even_when_keys_are_optional(required: bool) -> None:
    with pytest.raises(Unauthorized, match="unknown API key"):
        identify_caller("secret-c", KEYS, required=required)
    with pytest.raises(Unauthorized):
        identify_caller("secret-a ", KEYS, required=required)


def test_acl_visibility() -> None:
    alice = Caller("alice", ("team-a", "alice"))
    assert may_read(None, ANONYMOUS)
    assert may_read([], ANONYMOUS)
    assert not may_read(["team-a"], ANONYMOUS)
    assert may_read(["team-b", "team-a"], alice)
    assert not may_read(["team-b"], alice)
    assert may_read("team-a", alice)  # a single keyword value
    assert not may_read("team", alice)


def test_bm25_boosts_and_match_type_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MMRAG_API_TITLE_BOOST", "4")
    monkeypatch.setenv("MMRAG_API_SECTION_BOOST", "1")
    monkeypatch.setenv("MMRAG_API_CONTEXT_BOOST", "0")
    monkeypatch.setenv("MMRAG_API_LEXICAL_MATCH_TYPE", "best_fields")
    monkeypatch.setenv("MMRAG_API_LEXICAL_TIE_BREAKER", "0.1")
    fields = ApiSettings().lexical_fields()
    assert fields.weighted() == ["text", "ocr_text", "title^4", "section_text"]
    assert (fields.match_type, fields.tie_breaker) == ("best_fields", 0.1)


@pytest.mark.parametrize(
    ("name", "value", "needle"),
    [
        ("MMRAG_API_TITLE_BOOST", "-1", "greater than or equal to 0"),
        ("MMRAG_API_LEXICAL_MATCH_TYPE", "phrase", "most_fields"),
        ("MMRAG_API_LEXICAL_TIE_BREAKER", "2", "less than or equal to 1"),
    ],
)
def test_bad_bm25_settings_are_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, needle: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=needle):
        ApiSettings()


def test_bm25_with_every_field_off_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least one field"):
        ApiSettings(text_boost=0, title_boost=0, section_boost=0, ocr_boost=0, context_boost=0)
