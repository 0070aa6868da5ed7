"""The KRaft Kafka broker of the local stack: fetch, format once, start, health-check."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from compose.local.configs import (
    kafka_log4j2_properties,
    kafka_server_properties,
    new_kafka_cluster_id,
)
from compose.local.errors import StackError
from compose.local.java import find_java_home
from compose.local.maven import fetch_kafka
from compose.local.processes import PidFile, start_detached
from compose.local.settings import StackSettings

KAFKA_MAIN_CLASS = "kafka.Kafka"
KAFKA_MINIMUM_JAVA = 17


class KafkaService:
    """One combined broker+controller on loopback, state under ``<cache>/kafka``."""

    name = "kafka"

    def __init__(self, settings: StackSettings) -> None:
        self._settings = settings
        self.home = settings.cache_dir / "kafka"
        self.pid_file = PidFile(
            self.home / "kafka.pid", marker=str(self.home / "server.properties")
        )
        self.log_file = self.home / "logs" / "server.log"
        self.console_log = self.home / "logs" / "console.log"

    @property
    def ports(self) -> tuple[int, ...]:
        return (self._settings.kafka_port, self._settings.kafka_controller_port)

    @property
    def address(self) -> str:
        return self._settings.kafka_bootstrap

    def start(self) -> int:
        settings = self._settings
        java_home = find_java_home(KAFKA_MINIMUM_JAVA, settings.kafka_java_home, "Kafka")
        lib = fetch_kafka(settings.cache_dir, settings.kafka_version, settings.log4j_version)
        data_dir = self.home / "data"
        properties = self.home / "server.properties"
        log_config = self.home / "log4j2.properties"
        self.home.mkdir(parents=True, exist_ok=True)
        properties.write_text(
            kafka_server_properties(
                host=settings.host,
                port=settings.kafka_port,
                controller_port=settings.kafka_controller_port,
                data_dir=data_dir,
            )
        )
        log_config.write_text(kafka_log4j2_properties(self.log_file))
        java = str(java_home / "bin" / "java")
        classpath = f"{lib}/*"
        if not (data_dir / "meta.properties").exists():
            self._format_storage(java, classpath, properties)
        command = [
            java,
            f"-Xms{settings.kafka_heap}",
            f"-Xmx{settings.kafka_heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={log_config}",
            f"-Dkafka.logs.dir={self.log_file.parent}",
            "-cp",
            classpath,
            KAFKA_MAIN_CLASS,
            str(properties),
        ]
        environment = {**os.environ, "JAVA_HOME": str(java_home)}
        pid = start_detached(command, env=environment, log_file=self.console_log, cwd=self.home)
        self.pid_file.write(pid)
        return pid

    def _format_storage(self, java: str, classpath: str, properties: Path) -> None:
        result = subprocess.run(
            [
                java,
                "-cp",
                classpath,
                "kafka.tools.StorageTool",
                "format",
                "-t",
                new_kafka_cluster_id(),
                "-c",
                str(properties),
                "--standalone",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()[-1:]
            raise StackError(f"formatting Kafka storage failed: {' '.join(detail)}")

    def healthy(self) -> bool:
        """A real round trip: create a topic, produce a record, consume it back and commit
        its offset for a consumer group."""
        client_logger = logging.getLogger("aiokafka")
        level = client_logger.level
        client_logger.setLevel(logging.CRITICAL)  # refused connects are expected while starting
        try:
            # A thread of its own, so that this also works when called from async code.
            with ThreadPoolExecutor(max_workers=1) as runner:
                return runner.submit(asyncio.run, _checked_round_trip(self.address)).result()
        except Exception:
            return False
        finally:
            client_logger.setLevel(level)


async def _checked_round_trip(bootstrap: str) -> bool:
    return await asyncio.wait_for(_round_trip(bootstrap), timeout=20)


async def _round_trip(bootstrap: str) -> bool:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    topic = "mmrag.stack.health"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    await admin.start()
    try:
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()
    token = uuid.uuid4().hex.encode()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        metadata = await producer.send_and_wait(topic, token)
    finally:
        await producer.stop()
    # A group commit too: it makes the broker create __consumer_offsets, so that "healthy"
    # also means consumer groups work (the first group on a new broker otherwise waits).
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id="mmrag.stack.health", enable_auto_commit=False
    )
    await consumer.start()
    try:
        from aiokafka import TopicPartition

        partition = TopicPartition(topic, metadata.partition)
        consumer.assign([partition])
        consumer.seek(partition, metadata.offset)
        batch = await consumer.getmany(partition, timeout_ms=5000)
        if not any(record.value == token for record in batch.get(partition, [])):
            return False
        await consumer.commit({partition: metadata.offset + 1})
        return True
    finally:
        await consumer.stop()
