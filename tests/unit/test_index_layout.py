"""Shards and replicas of new indexes: settings (``MMRAG_CHUNK_SHARDS`` …) and the pure
index bodies built from them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from indexer.settings import IndexerSettings
from indexer.store.mappings import (
    IndexLayout,
    VectorSpace,
    chunk_index_body,
    documents_index_body,
)

SPACE = VectorSpace(text_model="t", text_dimensions=4, clip_model=None, clip_dimensions=None)


def test_the_default_layout_is_one_shard_without_replicas() -> None:
    assert IndexLayout().as_settings() == {"number_of_shards": 1, "number_of_replicas": 0}
    assert documents_index_body()["settings"] == {"number_of_shards": 1, "number_of_replicas": 0}
    assert chunk_index_body(SPACE, index_type="hnsw", refresh_interval="1s")["settings"] == {
        "number_of_shards": 1,
        "number_of_replicas": 0,
        "refresh_interval": "1s",
    }


def test_a_layout_sets_shards_and_replicas_and_nothing_else() -> None:
    layout = IndexLayout(shards=6, replicas=2)
    chunks = chunk_index_body(SPACE, index_type="hnsw", refresh_interval="5s", layout=layout)
    default = chunk_index_body(SPACE, index_type="hnsw", refresh_interval="5s")
    assert chunks["settings"] == {
        "number_of_shards": 6,
        "number_of_replicas": 2,
        "refresh_interval": "5s",
    }
    assert chunks["mappings"] == default["mappings"]
    documents = documents_index_body(IndexLayout(shards=3, replicas=1))
    assert documents["settings"] == {"number_of_shards": 3, "number_of_replicas": 1}
    assert documents["mappings"] == documents_index_body()["mappings"]


def test_shards_and_replicas_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMRAG_CHUNK_SHARDS", "6")
    monkeypatch.setenv("MMRAG_CHUNK_REPLICAS", "1")
    monkeypatch.setenv("MMRAG_DOCUMENTS_SHARDS", "2")
    monkeypatch.setenv("MMRAG_DOCUMENTS_REPLICAS", "1")
    settings = IndexerSettings()
    assert (settings.chunk_shards, settings.chunk_replicas) == (6, 1)
    assert (settings.documents_shards, settings.documents_replicas) == (2, 1)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("chunk_shards", 0),
        ("chunk_shards", 1025),
        ("chunk_replicas", -1),
        ("documents_shards", 0),
        ("documents_replicas", -1),
    ],
)
def test_impossible_layouts_are_refused_with_the_setting_named(field: str, value: int) -> None:
    with pytest.raises(ValidationError, match=field):
        IndexerSettings.model_validate({field: value})
