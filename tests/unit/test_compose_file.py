"""The docker compose file cannot run here (no Docker engine); keep it valid and in step
with the local stack's settings."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from compose.local import StackSettings

COMPOSE_FILE = Path(__file__).resolve().parents[2] / "compose" / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_validates_with_docker_compose_when_available() -> None:
    validator = shutil.which("docker-compose")
    if validator is None:
        pytest.skip("docker-compose (the offline validator) is not installed")
    result = subprocess.run(
        [validator, "-f", str(COMPOSE_FILE), "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_has_every_service_with_health_gated_dependencies(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"kafka", "elasticsearch", "watcher", "worker", "api"}
    for name in ("kafka", "elasticsearch"):
        assert "healthcheck" in services[name]
    for name in ("watcher", "worker", "api"):
        assert services[name]["build"]["dockerfile"] == "compose/Dockerfile"
        conditions = {dep["condition"] for dep in services[name]["depends_on"].values()}
        assert conditions == {"service_healthy"}


def _defaults() -> StackSettings:
    """The code's defaults, whatever MMRAG_STACK_* the environment sets."""
    return StackSettings.model_construct()


def test_host_ports_match_local_stack_defaults(compose: dict[str, Any]) -> None:
    defaults = _defaults()
    kafka_ports = compose["services"]["kafka"]["ports"]
    es_ports = compose["services"]["elasticsearch"]["ports"]
    assert f"127.0.0.1:{defaults.kafka_port}:{defaults.kafka_port}" in kafka_ports
    assert f"127.0.0.1:{defaults.elasticsearch_port}:9200" in es_ports
    advertised = compose["services"]["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert f"127.0.0.1:{defaults.kafka_port}" in advertised


def test_images_match_local_stack_versions(compose: dict[str, Any]) -> None:
    defaults = _defaults()
    assert compose["services"]["kafka"]["image"] == f"apache/kafka:{defaults.kafka_version}"
    assert compose["services"]["elasticsearch"]["image"].endswith(
        f":{defaults.elasticsearch_version}"
    )
    assert compose["services"]["elasticsearch"]["environment"]["xpack.security.enabled"] == "false"
