"""Pure renderers of the files the local stack writes: a pom, broker and node configs.

No I/O here: each function returns text so that it can be unit-tested as string equality.
"""

from __future__ import annotations

import base64
import uuid
from pathlib import Path

KAFKA_GROUP = "org.apache.kafka"
KAFKA_ARTIFACT = "kafka_2.13"
LOG4J_GROUP = "org.apache.logging.log4j"
ELASTICSEARCH_ZIP_COORDINATE = "org.elasticsearch.distribution.integ-test-zip:elasticsearch"


def kafka_runtime_pom(kafka_version: str, log4j_version: str) -> str:
    """A pom whose runtime dependencies are everything a KRaft broker needs to run."""
    dependencies = [
        (KAFKA_GROUP, KAFKA_ARTIFACT, kafka_version),
        (LOG4J_GROUP, "log4j-slf4j2-impl", log4j_version),
        (LOG4J_GROUP, "log4j-core", log4j_version),
    ]
    rendered = "\n".join(
        f"    <dependency><groupId>{group}</groupId><artifactId>{artifact}</artifactId>"
        f"<version>{version}</version></dependency>"
        for group, artifact, version in dependencies
    )
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0">\n'
        "  <modelVersion>4.0.0</modelVersion>\n"
        "  <groupId>dev.mmrag.stack</groupId>\n"
        "  <artifactId>kafka-runtime</artifactId>\n"
        f"  <version>{kafka_version}</version>\n"
        "  <packaging>pom</packaging>\n"
        "  <dependencies>\n"
        f"{rendered}\n"
        "  </dependencies>\n"
        "</project>\n"
    )


def new_kafka_cluster_id() -> str:
    """A KRaft cluster id in Kafka's own format: a random UUID, base64url without padding."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode("ascii")


def kafka_server_properties(*, host: str, port: int, controller_port: int, data_dir: Path) -> str:
    """A single combined broker+controller on loopback, replication factors of 1."""
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"{host}:{controller_port}",
        "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{host}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(data_dir),
        "num.partitions": "1",
        "auto.create.topics.enable": "true",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "log.retention.hours": "168",
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def kafka_log4j2_properties(log_file: Path) -> str:
    """Broker logging to one rolling file at INFO, noisy loggers at WARN."""
    return (
        "status = warn\n"
        "appender.file.type = RollingFile\n"
        "appender.file.name = file\n"
        f"appender.file.fileName = {log_file}\n"
        f"appender.file.filePattern = {log_file}.%i\n"
        "appender.file.layout.type = PatternLayout\n"
        "appender.file.layout.pattern = [%d] %p %m (%c)%n\n"
        "appender.file.policies.type = Policies\n"
        "appender.file.policies.size.type = SizeBasedTriggeringPolicy\n"
        "appender.file.policies.size.size = 20MB\n"
        "appender.file.strategy.type = DefaultRolloverStrategy\n"
        "appender.file.strategy.max = 3\n"
        "rootLogger.level = info\n"
        "rootLogger.appenderRef.file.ref = file\n"
        "logger.state.name = state.change.logger\n"
        "logger.state.level = warn\n"
        "logger.controller.name = org.apache.kafka.controller\n"
        "logger.controller.level = warn\n"
    )


def elasticsearch_yml(
    *, host: str, port: int, transport_port: int, data_dir: Path, logs_dir: Path
) -> str:
    """A single-node cluster on loopback with security off, for local use only.

    Only settings that the minimal integ-test distribution knows are used (it has no
    ingest, ML or geoip modules), so the same file works with the full distribution.
    """
    settings = {
        "cluster.name": "mmrag-local",
        "node.name": "mmrag-local-1",
        "discovery.type": "single-node",
        "xpack.security.enabled": "false",
        "network.host": host,
        "http.port": str(port),
        "transport.port": str(transport_port),
        "path.data": str(data_dir),
        "path.logs": str(logs_dir),
        # Developer machines often run with little free disk; the default watermarks
        # would then make every index read-only and look like a hang.
        "cluster.routing.allocation.disk.threshold_enabled": "false",
    }
    return "".join(f"{key}: {value}\n" for key, value in settings.items())
