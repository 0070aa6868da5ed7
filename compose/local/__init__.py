"""The local stack: a real Kafka broker and a real Elasticsearch node without Docker.

Both come from Maven Central (fetched with ``mvn``) into a cache directory and run as
plain JVM processes on 127.0.0.1. ``mmrag stack up|down|status`` drives :class:`LocalStack`.
"""

from __future__ import annotations

from compose.local.errors import StackError
from compose.local.settings import StackSettings
from compose.local.stack import LocalStack, ServiceStatus

__all__ = ["LocalStack", "ServiceStatus", "StackError", "StackSettings"]
