from __future__ import annotations

import base64
import uuid
from pathlib import Path

from compose.local.configs import (
    elasticsearch_yml,
    kafka_runtime_pom,
    kafka_server_properties,
    new_kafka_cluster_id,
)
from compose.local.java import parse_java_major_version


def _properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def test_kafka_properties_bind_loopback_with_separate_controller_port() -> None:
    properties = _properties(
        kafka_server_properties(
            host="127.0.0.1", port=19092, controller_port=19093, data_dir=Path("/data/k")
        )
    )
    assert properties["process.roles"] == "broker,controller"
    assert properties["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert properties["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    # --standalone formatting needs the bootstrap servers form, not the static voters.
    assert properties["controller.quorum.bootstrap.servers"] == "127.0.0.1:19093"
    assert "controller.quorum.voters" not in properties
    assert properties["log.dirs"] == "/data/k"
    replication = {k: v for k, v in properties.items() if k.endswith("replication.factor")}
    assert replication
    assert set(replication.values()) == {"1"}
    assert properties["group.initial.rebalance.delay.ms"] == "0"


def test_cluster_id_is_a_base64url_uuid_without_padding() -> None:
    first, second = new_kafka_cluster_id(), new_kafka_cluster_id()
    assert first != second
    assert len(first) == 22
    assert "=" not in first
    decoded = base64.urlsafe_b64decode(first + "==")
    assert uuid.UUID(bytes=decoded).bytes == decoded


def test_pom_lists_broker_and_logging_runtime() -> None:
    pom = kafka_runtime_pom("4.1.1", "2.24.3")
    assert "<artifactId>kafka_2.13</artifactId><version>4.1.1</version>" in pom
    assert "<artifactId>log4j-core</artifactId><version>2.24.3</version>" in pom
    assert "<artifactId>log4j-slf4j2-impl</artifactId><version>2.24.3</version>" in pom


def test_elasticsearch_yml_is_single_node_without_security_on_loopback() -> None:
    text = elasticsearch_yml(
        host="127.0.0.1",
        port=19200,
        transport_port=19300,
        data_dir=Path("/d"),
        logs_dir=Path("/l"),
    )
    settings = dict(line.split(": ", 1) for line in text.splitlines())
    assert settings["discovery.type"] == "single-node"
    assert settings["xpack.security.enabled"] == "false"
    assert settings["network.host"] == "127.0.0.1"
    assert settings["http.port"] == "19200"
    assert settings["transport.port"] == "19300"
    assert settings["path.data"] == "/d"
    assert settings["path.logs"] == "/l"


def test_java_major_version_parsing() -> None:
    assert parse_java_major_version('openjdk version "17.0.15" 2025-04-15') == 17
    assert parse_java_major_version('openjdk version "25" 2025-09-16') == 25
    assert parse_java_major_version('java version "1.8.0_392"') == 8
    assert parse_java_major_version('openjdk version "21-ea" 2023-09-19') == 21
    assert parse_java_major_version("command not found") is None
