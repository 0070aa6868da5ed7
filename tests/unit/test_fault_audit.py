"""The fault suite's audit: the index against what the folder's files should produce."""

from __future__ import annotations

from bench.faults.audit import StoredChunk, StoredManifest, audit, examples
from bench.faults.figures import audit_figures

FILES = {"file:///w/a.md": "sha-a", "file:///w/b.md": "sha-b"}


def _manifest(
    doc_id: str, uri: str, sha: str, chunk_ids: tuple[str, ...], deleted: bool = False
) -> StoredManifest:
    return StoredManifest(doc_id, uri, deleted, sha, chunk_ids)


def _clean() -> tuple[list[StoredManifest], list[StoredChunk]]:
    manifests = [
        _manifest("a", "file:///w/a.md", "sha-a", ("a1", "a2")),
        _manifest("b", "file:///w/b.md", "sha-b", ("b1",)),
    ]
    chunks = [StoredChunk("a1", "a"), StoredChunk("a2", "a"), StoredChunk("b1", "b")]
    return manifests, chunks


def test_an_index_that_matches_the_folder_has_no_findings() -> None:
    manifests, chunks = _clean()
    findings = audit(FILES, manifests, chunks, {"a": frozenset({"a1", "a2"})})
    assert findings.files == 2
    assert all(figure.value == 0 for figure in audit_figures("a", findings))


def test_a_file_without_a_live_manifest_is_lost() -> None:
    manifests, chunks = _clean()
    manifests[1] = _manifest("b", "file:///w/b.md", "sha-b", ("b1",), deleted=True)
    findings = audit(FILES, manifests, chunks)
    assert findings.lost == ["file:///w/b.md"]
    assert findings.stale_chunks == ["b/b1"]  # a deleted manifest's chunk is stale


def test_a_manifest_of_old_content_is_outdated() -> None:
    manifests, chunks = _clean()
    manifests[0] = _manifest("a", "file:///w/a.md", "sha-old", ("a1", "a2"))
    assert audit(FILES, manifests, chunks).outdated == ["file:///w/a.md"]


def test_chunk_ids_other_than_the_recomputed_ones_are_wrong() -> None:
    manifests, chunks = _clean()
    findings = audit(FILES, manifests, chunks, {"a": frozenset({"a1", "a3"})})
    assert findings.wrong_chunks == ["file:///w/a.md"]


def test_missing_stale_and_duplicate_chunks_are_counted_one_by_one() -> None:
    manifests, chunks = _clean()
    chunks = [
        StoredChunk("a1", "a"),
        StoredChunk("a1", "a"),  # a second copy (another index behind the alias)
        StoredChunk("old", "a"),  # an old revision's chunk
        StoredChunk("z1", "zombie"),  # a document no manifest knows
    ]
    findings = audit(FILES, manifests, chunks)
    assert findings.missing_chunks == ["a/a2", "b/b1"]
    assert findings.stale_chunks == ["a/old", "zombie/z1"]
    assert findings.duplicate_chunks == ["a/a1"]


def test_a_deleted_file_with_a_live_manifest_and_two_manifests_for_one_file() -> None:
    manifests, chunks = _clean()
    manifests.append(_manifest("gone", "file:///w/gone.md", "sha-g", ()))
    manifests.append(_manifest("a-again", "file:///w/a.md", "sha-a", ()))
    findings = audit(FILES, manifests, chunks)
    assert findings.deleted_present == ["gone"]
    assert findings.duplicate_documents == ["file:///w/a.md (2 live manifests)"]


def test_a_manifest_listing_a_chunk_twice_is_a_duplicate() -> None:
    manifests, chunks = _clean()
    manifests[1] = _manifest("b", "file:///w/b.md", "sha-b", ("b1", "b1"))
    assert audit(FILES, manifests, chunks).duplicate_chunks == ["b lists b1"]


def test_examples_shorten_long_lists() -> None:
    assert examples([]) == ""
    assert examples(["x", "y"]) == "x, y"
    assert examples(["1", "2", "3", "4", "5"]) == "1, 2, 3 … (+2)"
