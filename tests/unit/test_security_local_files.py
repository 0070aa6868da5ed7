"""Which local files an event may make the indexer read, at the reader's boundary.

Real files, FIFOs and symbolic links in a temporary tree; ``/proc`` and ``/dev`` as they
are. The reader is what the worker's pipeline and the thumbnail route call.
"""

from __future__ import annotations

import asyncio
import os
import resource
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from indexer.errors import ExtractionError, SourceNotAllowed
from indexer.events import ChangeEvent, DocumentMetadata, Operation
from indexer.read_scope import scope_for, scope_of
from indexer.settings import IndexerSettings
from indexer.sources import ContentReader


def event(source: str, uri: str, *, root: Path | str | None = None) -> ChangeEvent:
    extra = {"root": str(root)} if root is not None else {}
    return ChangeEvent(
        event_id="e-1",
        source=source,
        doc_id=f"{source}:doc",
        op=Operation.UPSERT,
        uri=uri,
        revision=1,
        metadata=DocumentMetadata(extra=extra),
        emitted_at=datetime.now(UTC),
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "watched"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "note.txt").write_text("inside the root")
    (tmp_path / "outside.txt").write_text("a secret outside the root")
    return root


async def read(settings: IndexerSettings, changed: ChangeEvent, uri: str | None = None) -> bytes:
    reader = ContentReader(settings)
    try:
        return await reader.read_document(uri or changed.uri, reader.scope_of(changed))
    finally:
        await reader.close()


# -- which roots a source has (pure) ----------------------------------------------------


def test_cms_sources_never_have_local_roots() -> None:
    settings = IndexerSettings(allowed_roots=(Path("/srv"),))
    scope = scope_for("cms:site", "/srv", settings)
    assert scope.roots == ()
    assert "may not name local files" in scope.refusal
    with pytest.raises(ValidationError, match="may not read local files"):
        IndexerSettings(source_roots={"cms:site": (Path("/srv"),)})


def test_file_system_sources_read_under_their_declared_root(tmp_path: Path) -> None:
    settings = IndexerSettings()
    assert scope_for("fs:docs", str(tmp_path), settings).roots == (tmp_path.resolve(),)
    assert scope_for("fs:docs", None, settings).roots == ()  # no root declared, no ceiling
    fallback = IndexerSettings(allowed_roots=(tmp_path,))
    assert scope_for("fs:docs", None, fallback).roots == (tmp_path.resolve(),)


def test_configured_source_roots_override_and_the_ceiling_caps(tmp_path: Path) -> None:
    inner, other = tmp_path / "inner", tmp_path / "other"
    inner.mkdir()
    other.mkdir()
    settings = IndexerSettings(source_roots={"fs:docs": (inner,), "nfs:share": (other,)})
    assert scope_for("fs:docs", str(other), settings).roots == (inner.resolve(),)
    assert scope_for("nfs:share", None, settings).roots == (other.resolve(),)
    assert scope_for("custom:thing", "/", settings).roots == ()
    capped = IndexerSettings(allowed_roots=(inner,))
    refused = scope_for("fs:docs", str(other), capped)
    assert refused.roots == ()
    assert "MMRAG_ALLOWED_ROOTS" in refused.refusal


def test_declared_root_counts_only_for_file_system_events(tmp_path: Path) -> None:
    settings = IndexerSettings()
    assert scope_of(event("fs:docs", "/x", root=tmp_path), settings).roots
    assert not scope_of(event("custom:docs", "/x", root=tmp_path), settings).roots
    assert not scope_of(event("fs:docs", "/x", root="relative/dir"), settings).roots


def test_local_asset_schemes_cannot_be_allowed() -> None:
    with pytest.raises(ValidationError, match="only http and https"):
        IndexerSettings(asset_allowed_schemes=("https", "file"))


# -- reading (real files) ---------------------------------------------------------------


async def test_a_file_under_the_declared_root_is_read(tree: Path) -> None:
    note = tree / "docs" / "note.txt"
    assert await read(IndexerSettings(), event("fs:w", note.as_uri(), root=tree)) == (
        b"inside the root"
    )


@pytest.mark.parametrize(
    "uri",
    ["file:///proc/self/environ", "/proc/self/environ", "file:///etc/passwd", "file:///dev/zero"],
)
async def test_cms_events_cannot_read_local_files(uri: str) -> None:
    with pytest.raises(SourceNotAllowed, match="CMS and webhook events may not name local"):
        await read(IndexerSettings(), event("cms:site", uri))


async def test_cms_assets_and_image_references_cannot_be_local(tree: Path) -> None:
    reader = ContentReader(IndexerSettings(allowed_roots=(tree,)))
    cms = event("cms:site", "https://example.com/articles/1")
    scope = reader.scope_of(cms)
    for reference in ("file:///proc/self/environ", (tree / "docs" / "note.txt").as_uri()):
        with pytest.raises(SourceNotAllowed, match="may not name local files"):
            await reader.read_image(reference, cms.uri, scope)
    # An absolute path in a remote document is a path on the document's host.
    with pytest.raises(SourceNotAllowed, match=r"host 'example\.com' is not in"):
        await reader.read_image("/etc/passwd", cms.uri, scope)


async def test_paths_outside_the_root_are_refused_even_through_dots_and_links(
    tree: Path,
) -> None:
    outside = tree.parent / "outside.txt"
    (tree / "docs" / "link.txt").symlink_to(outside)
    (tree / "escape").symlink_to(tree.parent)
    settings = IndexerSettings()
    for uri in (
        outside.as_uri(),
        f"file://{tree}/docs/../../outside.txt",
        (tree / "docs" / "link.txt").as_uri(),
        (tree / "escape" / "outside.txt").as_uri(),
        "file:///proc/self/environ",
    ):
        with pytest.raises(SourceNotAllowed, match="outside the roots of source 'fs:w'"):
            await read(settings, event("fs:w", uri, root=tree))


async def test_a_relative_image_reference_cannot_climb_out_of_the_root(tree: Path) -> None:
    reader = ContentReader(IndexerSettings())
    page = event("fs:w", (tree / "docs" / "page.md").as_uri(), root=tree)
    with pytest.raises(SourceNotAllowed, match="outside the roots"):
        await reader.read_image("../../outside.txt", page.uri, reader.scope_of(page))


async def test_special_file_systems_are_refused_whatever_the_roots() -> None:
    settings = IndexerSettings()
    for root, uri in (("/", "file:///proc/self/environ"), ("/dev", "file:///dev/zero")):
        with pytest.raises(SourceNotAllowed, match="special file system"):
            await read(settings, event("fs:w", uri, root=root))


async def test_a_fifo_is_refused_at_once_without_blocking(tree: Path) -> None:
    fifo = tree / "docs" / "pipe.txt"
    os.mkfifo(fifo)
    started = time.monotonic()
    with pytest.raises(ExtractionError, match="not a regular file"):
        await asyncio.wait_for(read(IndexerSettings(), event("fs:w", fifo.as_uri(), root=tree)), 5)
    assert time.monotonic() - started < 2


async def test_size_is_enforced_while_reading(tree: Path) -> None:
    big = tree / "docs" / "big.txt"
    big.write_bytes(b"x" * 1001)
    exact = tree / "docs" / "exact.txt"
    exact.write_bytes(b"y" * 1000)
    settings = IndexerSettings(max_document_bytes=1000)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ExtractionError, match="over the 1000 byte limit"):
        await read(settings, event("fs:w", big.as_uri(), root=tree))
    assert await read(settings, event("fs:w", exact.as_uri(), root=tree)) == b"y" * 1000
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 32 * 1024


async def test_a_file_on_another_host_is_refused(tree: Path) -> None:
    with pytest.raises(SourceNotAllowed, match="another host"):
        await read(IndexerSettings(), event("fs:w", "file://server/share/x.txt", root=tree))
