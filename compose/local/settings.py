"""Settings of the local stack (env prefix ``MMRAG_STACK_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "mmrag" / "stack"


class StackSettings(BaseSettings):
    """Where the stack lives, which versions it runs and on which loopback ports.

    Default ports are offset from the usual 9092/9200 so that a Kafka or Elasticsearch a
    user already runs is never disturbed.
    """

    model_config = SettingsConfigDict(env_prefix="MMRAG_STACK_", extra="ignore")

    cache_dir: Path = Field(default_factory=_default_cache_dir)
    kafka_version: str = "4.1.1"
    log4j_version: str = "2.24.3"
    elasticsearch_version: str = "9.2.4"
    host: str = "127.0.0.1"
    kafka_port: int = 19092
    kafka_controller_port: int = 19093
    elasticsearch_port: int = 19200
    elasticsearch_transport_port: int = 19300
    kafka_heap: str = "512m"
    elasticsearch_heap: str = "512m"
    kafka_java_home: Path | None = None
    """JDK for Kafka (17+); by default the first suitable one found."""
    elasticsearch_java_home: Path | None = None
    """JDK for Elasticsearch (21+); by default the first suitable one found."""
    elasticsearch_run_dir: Path | None = None
    """Where Elasticsearch's home, data and logs live. Defaults to the cache directory, or,
    when running as root (Elasticsearch refuses root), a directory under the system temp
    dir owned by ``nobody`` — root's home is not readable by that user."""
    startup_timeout_s: float = 120.0

    @property
    def kafka_bootstrap(self) -> str:
        return f"{self.host}:{self.kafka_port}"

    @property
    def elasticsearch_url(self) -> str:
        return f"http://{self.host}:{self.elasticsearch_port}"
