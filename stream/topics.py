"""The topics mmrag uses, and creating them with sane configs (idempotent)."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from stream.producer import MAX_RECORD_BYTES
from stream.settings import StreamSettings

WEEK_MS = 7 * 24 * 3600 * 1000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int
    configs: dict[str, str] = field(default_factory=dict)


def topic_specs(settings: StreamSettings) -> list[TopicSpec]:
    """The live and backfill change topics (keyed by doc_id, co-partitioned, long
    retention so a replay can rebuild an index) and the dead-letter topic (kept longer:
    someone has to look at it)."""
    change_configs = {
        "cleanup.policy": "delete",
        "retention.ms": str(settings.changes_retention_ms),
        "max.message.bytes": str(MAX_RECORD_BYTES),
    }
    return [
        *(
            TopicSpec(
                name, settings.changes_partitions, settings.replication_factor, change_configs
            )
            for name in (settings.changes_topic, settings.backfill_topic)
        ),
        TopicSpec(
            settings.dead_letter_topic,
            1,
            settings.replication_factor,
            {
                "cleanup.policy": "delete",
                "retention.ms": str(4 * WEEK_MS),
                "max.message.bytes": str(MAX_RECORD_BYTES),
            },
        ),
    ]


async def ensure_topics(settings: StreamSettings) -> list[str]:
    """Create missing topics; return the names that were created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    created = []
    try:
        existing = set(await admin.list_topics())
        for spec in topic_specs(settings):
            if spec.name in existing:
                continue
            try:
                await admin.create_topics(
                    [
                        NewTopic(
                            spec.name,
                            num_partitions=spec.partitions,
                            replication_factor=spec.replication_factor,
                            topic_configs=spec.configs,
                        )
                    ]
                )
                created.append(spec.name)
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()
    return created
