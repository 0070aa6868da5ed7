"""``mmrag dlq list|replay`` against the real broker: letters written by the worker's
shape are read back whole, and only replayable ones return to the changes topic."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from aiokafka import AIOKafkaProducer

from indexer.dead_letters import DeadLetter
from tests.integration.kafka_helpers import create_test_topics, read_records

EVENT = {
    "schema": "mmrag.change/1",
    "event_id": "e-replay",
    "source": "fs:docs",
    "doc_id": "fs:docs:fixed",
    "op": "upsert",
    "uri": "file:///srv/docs/fixed.pdf",
    "revision": 1732500000000000000,
    "emitted_at": "2026-11-25T12:00:00Z",
}


def run_cli(bootstrap: str, topic: str, *args: str) -> str:
    env = {
        **os.environ,
        "MMRAG_KAFKA_BOOTSTRAP": bootstrap,
        "MMRAG_CHANGES_TOPIC": topic,
        "MMRAG_BACKFILL_TOPIC": f"{topic}.backfill",
        "MMRAG_DEAD_LETTER_TOPIC": f"{topic}.dlq",
        "COLUMNS": "200",
    }
    done = subprocess.run(
        [sys.executable, "-m", "mmrag", "dlq", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_replay_sends_back_only_events_the_worker_failed_on(
    kafka_bootstrap: str, topic_name: str
) -> None:
    settings = await create_test_topics(kafka_bootstrap, topic_name)
    original = json.dumps(EVENT).encode()
    letters = [
        DeadLetter(
            stage="extract",
            reason="corrupt PDF",
            uri=EVENT["uri"],
            original_base64=DeadLetter.encode_original(original),
            original_topic=topic_name,
            original_key=EVENT["doc_id"],
        ),
        DeadLetter(
            stage="decode",
            reason="missing op",
            original_base64=DeadLetter.encode_original(b'{"schema": "mmrag.change/1"}'),
            original_topic=topic_name,
        ),
        DeadLetter(stage="watch", reason="file too large", uri="file:///srv/docs/huge.bin"),
    ]
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for letter in letters:
            await producer.send_and_wait(settings.dead_letter_topic, letter.to_json_bytes())
        await producer.send_and_wait(settings.dead_letter_topic, b"not a letter")
    finally:
        await producer.stop()

    listed = run_cli(kafka_bootstrap, topic_name, "list")
    assert "4 dead letter(s)" in listed
    assert "corrupt PDF" in listed
    assert "file too large" in listed

    dry = run_cli(kafka_bootstrap, topic_name, "replay", "--dry-run")
    assert "1 would be replayed" in dry
    assert await read_records(kafka_bootstrap, topic_name, timeout_s=2) == []

    replayed = run_cli(kafka_bootstrap, topic_name, "replay")
    # A replay is bulk work: it goes to the backfill lane, never ahead of live changes.
    assert f"replayed 1 event(s) to {settings.backfill_topic}" in replayed
    records = await read_records(kafka_bootstrap, settings.backfill_topic, expect=1)
    assert len(records) == 1
    assert records[0]["_key"] == EVENT["doc_id"]
    assert {k: records[0][k] for k in EVENT} == EVENT
    assert await read_records(kafka_bootstrap, topic_name, timeout_s=2) == []
    # The letters stay where they were: replay reads, it does not consume.
    assert "4 dead letter(s)" in run_cli(kafka_bootstrap, topic_name, "list")
