"""Names of a run's own topics, indexes and consumer group, and the worker's environment
(pure)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunNames:
    suffix: str

    @property
    def changes_topic(self) -> str:
        return f"bench.{self.suffix}"

    @property
    def backfill_topic(self) -> str:
        return f"bench.{self.suffix}.backfill"

    @property
    def dead_letter_topic(self) -> str:
        return f"bench.{self.suffix}.dlq"

    @property
    def app_id(self) -> str:
        """The worker's Faust app id: its consumer group, and the prefix of its own
        (table changelog) topics."""
        return f"bench-{self.suffix}"

    @property
    def chunks_alias(self) -> str:
        return f"bench-{self.suffix}-chunks"

    @property
    def documents_index(self) -> str:
        return f"bench-{self.suffix}-documents"

    @property
    def index_pattern(self) -> str:
        """Every index of the run (the chunk generations and the documents index)."""
        return f"bench-{self.suffix}-*"

    def owns_topic(self, topic: str) -> bool:
        return topic.startswith((f"bench.{self.suffix}", self.app_id))

    def environment(self, kafka_bootstrap: str, elasticsearch_url: str) -> dict[str, str]:
        """``MMRAG_…`` variables that point a worker (and ``mmrag status``) at this run."""
        return {
            "MMRAG_KAFKA_BOOTSTRAP": kafka_bootstrap,
            "MMRAG_ELASTICSEARCH_URL": elasticsearch_url,
            "MMRAG_CHANGES_TOPIC": self.changes_topic,
            "MMRAG_BACKFILL_TOPIC": self.backfill_topic,
            "MMRAG_DEAD_LETTER_TOPIC": self.dead_letter_topic,
            "MMRAG_WORKER_APP_ID": self.app_id,
            "MMRAG_CHUNKS_ALIAS": self.chunks_alias,
            "MMRAG_DOCUMENTS_INDEX": self.documents_index,
        }
