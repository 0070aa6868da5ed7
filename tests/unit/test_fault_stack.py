"""The fault suite's private stack never lands on the shared stack's ports or state."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.faults.private_stack import PrivateStack, private_settings
from compose.local import StackSettings


def test_private_ports_and_directory_are_its_own(tmp_path: Path) -> None:
    settings = private_settings(31000, tmp_path / "stack")
    shared = StackSettings()
    assert (settings.kafka_port, settings.kafka_controller_port) == (31092, 31093)
    assert (settings.elasticsearch_port, settings.elasticsearch_transport_port) == (31200, 31300)
    assert settings.cache_dir == tmp_path / "stack"
    assert settings.cache_dir != shared.cache_dir
    assert settings.kafka_bootstrap == "127.0.0.1:31092"


def test_the_shared_stack_ports_are_refused(tmp_path: Path) -> None:
    shared_ports = StackSettings().model_copy(update={"cache_dir": tmp_path})
    with pytest.raises(ValueError, match="shared stack"):
        PrivateStack(shared_ports)
