"""Where the integration tests find a real Kafka broker and a real Elasticsearch node.

In this order: endpoints given in the environment (``MMRAG_TEST_KAFKA_BOOTSTRAP`` and
``MMRAG_TEST_ELASTICSEARCH_URL``); testcontainers when a Docker engine answers; otherwise
the no-Docker local stack (``compose.local``), which is stopped again at the end of the
session if the tests started it (``MMRAG_TEST_KEEP_STACK=1`` keeps it for the next run).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

KAFKA_IMAGE = "confluentinc/cp-kafka:7.7.1"
ELASTICSEARCH_IMAGE = "docker.elastic.co/elasticsearch/elasticsearch:9.2.4"


@dataclass(frozen=True)
class ServiceEndpoints:
    kafka_bootstrap: str
    elasticsearch_url: str
    origin: str


def _docker_engine_answers() -> bool:
    try:
        import docker  # type: ignore[import-untyped]
    except ImportError:
        return False
    try:
        client = docker.from_env(timeout=3)
        return bool(client.ping())
    except Exception:
        return False


@contextlib.contextmanager
def _from_testcontainers() -> Iterator[ServiceEndpoints]:
    from testcontainers.community.elasticsearch import ElasticSearchContainer
    from testcontainers.community.kafka import KafkaContainer

    kafka = KafkaContainer(KAFKA_IMAGE).with_kraft()
    elasticsearch = ElasticSearchContainer(ELASTICSEARCH_IMAGE, mem_limit="1g")
    elasticsearch.with_env("xpack.security.enabled", "false")
    with kafka, elasticsearch:
        yield ServiceEndpoints(
            kafka_bootstrap=kafka.get_bootstrap_server(),
            elasticsearch_url=(
                f"http://{elasticsearch.get_container_host_ip()}:"
                f"{elasticsearch.get_exposed_port(elasticsearch.port)}"
            ),
            origin="testcontainers",
        )


@contextlib.contextmanager
def _from_local_stack() -> Iterator[ServiceEndpoints]:
    from compose.local import LocalStack, StackSettings

    stack = LocalStack(StackSettings())
    already_running = all(status.running for status in stack.status())
    stack.up()
    try:
        yield ServiceEndpoints(
            kafka_bootstrap=stack.settings.kafka_bootstrap,
            elasticsearch_url=stack.settings.elasticsearch_url,
            origin="local stack (already running)" if already_running else "local stack",
        )
    finally:
        if not already_running and os.environ.get("MMRAG_TEST_KEEP_STACK") != "1":
            stack.down()


@contextlib.contextmanager
def service_endpoints() -> Iterator[ServiceEndpoints]:
    kafka = os.environ.get("MMRAG_TEST_KAFKA_BOOTSTRAP")
    elasticsearch = os.environ.get("MMRAG_TEST_ELASTICSEARCH_URL")
    if kafka and elasticsearch:
        yield ServiceEndpoints(kafka, elasticsearch, origin="environment")
    elif _docker_engine_answers():
        with _from_testcontainers() as endpoints:
            yield endpoints
    else:
        with _from_local_stack() as endpoints:
            yield endpoints
