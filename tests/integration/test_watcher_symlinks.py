"""The watcher never follows a symbolic link out of its root, nor around a loop, in both
inotify and polling modes (real watcher, real broker, a real tree with links)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from stream.lanes import Lane
from stream.producer import ChangeProducer
from stream.settings import StreamSettings
from stream.watcher import DirectoryWatcher, WatchSettings
from tests.integration.kafka_helpers import create_test_topics, read_records
from tests.integration.worker_process import wait_for


@pytest.fixture
async def stream_settings(kafka_bootstrap: str, topic_name: str) -> StreamSettings:
    return await create_test_topics(kafka_bootstrap, topic_name)


@pytest.fixture
async def producer(stream_settings: StreamSettings) -> AsyncIterator[ChangeProducer]:
    async with ChangeProducer.from_settings(stream_settings) as change_producer:
        yield change_producer


def _tree(tmp_path: Path) -> tuple[Path, Path]:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "docs").mkdir(parents=True)
    outside.mkdir()
    (root / "docs" / "a.md").write_text("# A\n\ninside")
    (outside / "secret.md").write_text("# Secret\n\noutside the root")
    (root / "escape").symlink_to(outside)  # a directory link out of the root
    (root / "loop").symlink_to(".")  # ln -s . loop
    (root / "docs" / "back").symlink_to("..")  # and a loop one level down
    (root / "link.md").symlink_to(outside / "secret.md")  # a file link out of the root
    (root / "alias.md").symlink_to(root / "docs" / "a.md")  # a file link inside: fine
    return root, outside


def _paths(events: list[dict[str, Any]], root: Path) -> set[str]:
    return {
        str(event.get("new_uri") or event["uri"]).removeprefix(root.as_uri() + "/")
        for event in events
    }


@pytest.mark.parametrize("polling", [False, True], ids=["inotify", "polling"])
async def test_links_out_of_the_root_and_loops_are_not_followed(
    polling: bool,
    tmp_path: Path,
    producer: ChangeProducer,
    stream_settings: StreamSettings,
) -> None:
    root, outside = _tree(tmp_path)
    settings = WatchSettings(
        state_dir=tmp_path / "state", debounce_ms=100, polling=polling, poll_interval_s=0.2
    )
    watcher = DirectoryWatcher(root, producer, settings, source_name="links")
    started = time.monotonic()
    task = asyncio.create_task(watcher.run())
    try:
        await asyncio.wait_for(watcher.ready.wait(), 10)
        (outside / "new.md").write_text("# New\n\nwritten outside while watching")
        (outside / "secret.md").write_text("# Secret\n\nedited outside")
        (root / "escape2").symlink_to(outside)  # a new directory link, live
        (root / "docs" / "b.md").write_text("# B\n\nwritten inside while watching")

        async def b_sent() -> bool:
            return watcher.sent[Lane.LIVE] >= 1

        await wait_for(b_sent, timeout_s=10, what="docs/b.md sent live")
        # Anything else seen through the new link would follow within a few polls.
        await asyncio.sleep(3 * settings.poll_interval_s + 0.1)
    finally:
        watcher.stop()
        await asyncio.wait_for(task, 10)
        watcher.close()
    elapsed = time.monotonic() - started

    assert watcher.sent == {Lane.BACKFILL: 2, Lane.LIVE: 1}
    live = await read_records(
        stream_settings.kafka_bootstrap, stream_settings.changes_topic, expect=1
    )
    scanned = await read_records(
        stream_settings.kafka_bootstrap, stream_settings.backfill_topic, expect=2
    )
    events = live + scanned
    assert _paths(live, root) == {"docs/b.md"}
    letters = await read_records(
        stream_settings.kafka_bootstrap, stream_settings.dead_letter_topic, expect=1
    )
    assert _paths(events, root) == {"docs/a.md", "docs/b.md", "alias.md"}
    assert not any("outside" in str(event) or "secret" in str(event) for event in events)
    assert len(letters) == 1
    assert letters[0]["uri"].endswith("/link.md")
    assert "outside the watched root" in letters[0]["reason"]
    assert elapsed < 5  # the loops cost nothing: start, one debounced event, stop
