"""The file watcher against the real broker: what a user does to files, Kafka sees —
scans on the backfill topic, changes seen while watching on the live topic."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from stream.lanes import Lane
from stream.producer import ChangeProducer
from stream.settings import StreamSettings
from stream.watcher import DirectoryWatcher, WatchSettings
from tests.integration.kafka_helpers import by_document, create_test_topics, read_records
from tests.integration.worker_process import wait_for

DEBOUNCE_S = 0.2


@pytest.fixture
async def stream_settings(kafka_bootstrap: str, topic_name: str) -> StreamSettings:
    return await create_test_topics(kafka_bootstrap, topic_name)


@pytest.fixture
async def producer(stream_settings: StreamSettings) -> AsyncIterator[ChangeProducer]:
    async with ChangeProducer.from_settings(stream_settings) as change_producer:
        yield change_producer


@pytest.fixture
def watch_settings(tmp_path: Path) -> WatchSettings:
    return WatchSettings(state_dir=tmp_path / "state", debounce_ms=int(DEBOUNCE_S * 1000))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    root.mkdir()
    return root


async def _events(
    settings: StreamSettings, expect: int, lane: Lane = Lane.LIVE
) -> list[dict[str, Any]]:
    topic = settings.changes_topic if lane is Lane.LIVE else settings.backfill_topic
    return await read_records(settings.kafka_bootstrap, topic, expect=expect)


async def _running(watcher: DirectoryWatcher) -> asyncio.Task[None]:
    task = asyncio.create_task(watcher.run())
    await asyncio.wait_for(watcher.ready.wait(), 10)
    return task


async def _sent_live(watcher: DirectoryWatcher, count: int) -> None:
    """Wait until the watcher had ``count`` live events acknowledged by Kafka."""

    async def sent() -> bool:
        return watcher.sent[Lane.LIVE] >= count

    await wait_for(sent, timeout_s=10, what=f"{count} live event(s) sent")


async def _stop(watcher: DirectoryWatcher, task: asyncio.Task[None]) -> None:
    watcher.stop()
    await asyncio.wait_for(task, 10)
    watcher.close()


async def test_create_modify_rename_delete_in_order_per_document(
    tree: Path,
    producer: ChangeProducer,
    stream_settings: StreamSettings,
    watch_settings: WatchSettings,
) -> None:
    watcher = DirectoryWatcher(tree, producer, watch_settings, source_name="docs")
    task = await _running(watcher)
    try:
        (tree / "a.md").write_text("# A\n\nfirst")
        (tree / "sub").mkdir()
        (tree / "sub" / "b.txt").write_text("b")
        await _sent_live(watcher, 2)
        (tree / "a.md").write_text("# A\n\nsecond")
        await _sent_live(watcher, 3)
        (tree / "a.md").rename(tree / "renamed.md")
        await _sent_live(watcher, 4)
        (tree / "sub" / "b.txt").unlink()
        (tree / "ignored.exe").write_text("not a document")
        (tree / ".hidden.md").write_text("hidden")
        await _sent_live(watcher, 5)
    finally:
        await _stop(watcher, task)

    assert watcher.sent == {Lane.LIVE: 5, Lane.BACKFILL: 0}
    records = await _events(stream_settings, expect=5)
    assert len(records) == 5
    documents = by_document(records)
    assert len(documents) == 2
    a_events, b_events = sorted(documents.values(), key=len, reverse=True)
    assert [e["op"] for e in a_events] == ["upsert", "upsert", "move"]
    assert [e["op"] for e in b_events] == ["upsert", "delete"]
    revisions = [e["revision"] for e in a_events]
    assert revisions == sorted(revisions)
    assert len(set(revisions)) == 3
    assert a_events[2]["uri"] == (tree / "a.md").as_uri()
    assert a_events[2]["new_uri"] == (tree / "renamed.md").as_uri()
    assert a_events[0]["content_sha256"] != a_events[1]["content_sha256"]
    assert a_events[1]["content_sha256"] == a_events[2]["content_sha256"]
    assert all(e["_key"] == e["doc_id"] for e in records)
    assert all(e["source"] == "fs:docs" for e in records)
    assert len({e["_partition"] for e in a_events}) == 1
    assert b_events[0]["content_type"] == "text/plain"
    assert b_events[1]["uri"] == (tree / "sub" / "b.txt").as_uri()


async def test_an_editor_save_burst_is_one_event(
    tree: Path,
    producer: ChangeProducer,
    stream_settings: StreamSettings,
    watch_settings: WatchSettings,
) -> None:
    target = tree / "note.md"
    target.write_text("v0")
    watcher = DirectoryWatcher(tree, producer, watch_settings, source_name="docs")
    task = await _running(watcher)
    try:
        # What editors do on save: swap file, write a temp file, rename it over the
        # original, touch metadata — several OS events within a few milliseconds.
        (tree / ".note.md.swp").write_text("swap")
        temporary = tree / "note.md~"
        temporary.write_text("v1 partial")
        temporary.write_text("v1")
        temporary.replace(target)
        os.utime(target)
        (tree / ".note.md.swp").unlink()
        await _sent_live(watcher, 1)
        # A second event would come one debounce after the last OS event: give it three.
        await asyncio.sleep(3 * DEBOUNCE_S)
    finally:
        await _stop(watcher, task)

    assert watcher.sent == {Lane.LIVE: 1, Lane.BACKFILL: 1}
    [scan] = await _events(stream_settings, expect=1, lane=Lane.BACKFILL)
    [save] = await _events(stream_settings, expect=1)
    assert [scan["op"], save["op"]] == ["upsert", "upsert"]
    assert scan["doc_id"] == save["doc_id"]
    assert scan["_partition"] == save["_partition"]  # co-partitioned topics, same key
    assert save["revision"] > scan["revision"]
    assert scan["content_sha256"] != save["content_sha256"]


async def test_reconciliation_emits_exactly_what_changed_while_down(
    tree: Path,
    producer: ChangeProducer,
    stream_settings: StreamSettings,
    watch_settings: WatchSettings,
) -> None:
    for name in ("keep.md", "edit.md", "gone.md", "move-me.md", "touch.md"):
        (tree / name).write_text(f"content of {name}")
    first = DirectoryWatcher(tree, producer, watch_settings, source_name="docs")
    initial = await first.reconcile()
    first.close()
    assert initial.count("upsert") == 5

    # The watcher is down; the user keeps working.
    await asyncio.sleep(0.01)
    (tree / "edit.md").write_text("edited while the watcher was down")
    (tree / "gone.md").unlink()
    (tree / "move-me.md").rename(tree / "moved.md")
    (tree / "new.md").write_text("brand new")
    os.utime(tree / "touch.md", ns=(time.time_ns(), time.time_ns()))  # same bytes

    second = DirectoryWatcher(tree, producer, watch_settings, source_name="docs")
    catch_up = await second.reconcile()
    nothing = await second.reconcile()
    second.close()
    third = DirectoryWatcher(tree, producer, watch_settings, source_name="docs")
    after_restart = await third.reconcile()
    third.close()

    assert sorted((e.op.value, Path(e.new_uri or e.uri).name) for e in catch_up.events) == [
        ("delete", "gone.md"),
        ("move", "moved.md"),
        ("upsert", "edit.md"),
        ("upsert", "new.md"),
    ]
    assert nothing.events == []
    assert after_restart.events == []

    records = await _events(stream_settings, expect=9, lane=Lane.BACKFILL)
    assert len(records) == 9
    documents = by_document(records)
    assert len(documents) == 6
    moved = next(events for events in documents.values() if events[-1]["op"] == "move")
    assert [e["op"] for e in moved] == ["upsert", "move"]


async def test_bad_files_are_reported_once_and_never_stop_the_watcher(
    tree: Path,
    producer: ChangeProducer,
    stream_settings: StreamSettings,
    tmp_path: Path,
) -> None:
    settings = WatchSettings(state_dir=tmp_path / "state", max_file_bytes=1000)
    (tree / "big.txt").write_text("x" * 5000)
    (tree / "dangling.md").symlink_to(tree / "does-not-exist.md")
    (tree / "fine.md").write_text("fine")
    watcher = DirectoryWatcher(tree, producer, settings, source_name="docs")
    first = await watcher.reconcile()
    again = await watcher.reconcile()
    watcher.close()

    assert [Path(e.uri).name for e in first.events] == ["fine.md"]
    assert first.problems == 2
    assert again.problems == 0  # the same problem is not reported twice
    letters = await read_records(
        stream_settings.kafka_bootstrap, stream_settings.dead_letter_topic, expect=2
    )
    reasons = {Path(letter["uri"]).name: letter["reason"] for letter in letters}
    assert reasons == {
        "big.txt": "file is 5000 bytes, over the 1000 byte limit",
        "dangling.md": "broken symbolic link",
    }
    assert all(letter["stage"] == "watch" for letter in letters)
