"""Where the served generation's manifests are, read from its ``_meta``: its own documents
index when it chunks differently, else the shared one (the API's ``IndexSpace`` and
``mmrag status``'s probe read it alike)."""

from __future__ import annotations

from typing import Any

import pytest
from rich.console import Console

from indexer.generations.meta import GenerationConfig, GenerationMeta, documents_index_in
from mmrag.progress.report import ProgressTracker
from mmrag.progress.snapshot import Served, Snapshot, served_generation
from mmrag.progress.view import status_table
from query_api.index_space import IndexSpace

SHARED = "mmrag-documents"
CONFIG = GenerationConfig(text_model="minilm", text_dimensions=384)
OWN_META = GenerationMeta(
    config=CONFIG.model_copy(update={"chunk_max_tokens": 128}),
    state="live",
    documents_index="mmrag-documents-000003",
).to_meta()
SHARED_META = GenerationMeta(config=CONFIG, state="live").to_meta()
OLDER_META: dict[str, Any] = {"text_model": "minilm", "text_dimensions": 384}
"""Generation 1 made before generations were recorded: the four space keys only."""


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        (OWN_META, "mmrag-documents-000003"),
        (SHARED_META, SHARED),
        (OLDER_META, SHARED),
        ({}, SHARED),  # an index made by hand: not a generation's
        ({"text_model": "minilm"}, SHARED),  # unreadable: its manifests can only be shared
    ],
)
def test_the_served_generations_documents_index_comes_from_its_meta(
    meta: dict[str, Any], expected: str
) -> None:
    space = IndexSpace.from_meta("mmrag-chunks-000003", meta)
    assert space.documents_index_or(SHARED) == expected
    assert (documents_index_in(meta) or SHARED) == expected


def test_the_space_keeps_its_models_besides_its_documents_index() -> None:
    space = IndexSpace.from_meta("mmrag-chunks-000003", OWN_META)
    assert (space.text_model, space.text_dimensions) == ("minilm", 384)
    assert space.documents_index == "mmrag-documents-000003"
    assert space != IndexSpace.from_meta("mmrag-chunks-000003", SHARED_META)


def _mapping(meta: dict[str, Any], name: str = "mmrag-chunks-000003") -> dict[str, Any]:
    return {name: {"mappings": {"_meta": meta, "properties": {}}}}


def test_the_probe_reads_the_alias_mapping_for_the_generation_and_its_documents() -> None:
    assert served_generation(_mapping(OWN_META), SHARED) == Served(
        "mmrag-chunks-000003", "mmrag-documents-000003"
    )
    assert served_generation(_mapping(SHARED_META), SHARED) == Served("mmrag-chunks-000003", SHARED)
    assert served_generation(_mapping({}, "hand-made"), SHARED) == Served("hand-made", SHARED)


def test_no_alias_yet_reads_as_the_shared_index_and_no_generation() -> None:
    assert served_generation({}, SHARED) == Served(None, SHARED)


def test_the_report_says_which_generation_and_documents_index_it_counted() -> None:
    snapshot = Snapshot(
        at=1.0, generation="mmrag-chunks-000003", documents_index="mmrag-documents-000003"
    )
    report = ProgressTracker().observe(snapshot)
    body = report.to_json()
    assert body["generation"] == "mmrag-chunks-000003"
    assert body["documents_index"] == "mmrag-documents-000003"
    console = Console(width=120, record=True)
    console.print(status_table(report))
    shown = " ".join(console.export_text().split())  # the caption wraps to the table
    assert "searching mmrag-chunks-000003 (documents in mmrag-documents-000003)" in shown


def test_a_reading_without_elasticsearch_names_no_generation() -> None:
    report = ProgressTracker().observe(Snapshot(at=1.0, errors=("elasticsearch: down",)))
    assert report.generation is None
    console = Console(width=120, record=True)
    console.print(status_table(report))
    assert "searching" not in console.export_text()
