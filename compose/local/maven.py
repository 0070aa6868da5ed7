"""Fetching the broker jars and the Elasticsearch zip with ``mvn`` into the cache."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from compose.local.configs import ELASTICSEARCH_ZIP_COORDINATE, kafka_runtime_pom
from compose.local.errors import StackError

DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
_READY_MARKER = ".complete"


def _mvn() -> str:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError(
            "mvn (Apache Maven) is not on PATH: it fetches Kafka and Elasticsearch; "
            "install it (e.g. apt-get install maven)"
        )
    return mvn


def _run_mvn(arguments: list[str], what: str, log_file: Path) -> None:
    command = [_mvn(), "-B", "-q", *arguments]
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("w") as log:
        result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        tail = log_file.read_text(errors="replace").strip().splitlines()[-3:]
        raise StackError(
            f"mvn could not fetch {what} (exit {result.returncode}): "
            f"{' | '.join(tail) or 'no output'} — full log: {log_file}"
        )


def fetch_kafka(cache_dir: Path, kafka_version: str, log4j_version: str) -> Path:
    """The directory of jars for the broker, fetched once per version."""
    target = cache_dir / "artifacts" / f"kafka-{kafka_version}"
    lib = target / "lib"
    if (target / _READY_MARKER).exists():
        return lib
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    (target / "pom.xml").write_text(kafka_runtime_pom(kafka_version, log4j_version))
    _run_mvn(
        [
            "-f",
            str(target / "pom.xml"),
            f"{DEPENDENCY_PLUGIN}:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={lib}",
        ],
        f"Kafka {kafka_version}",
        target / "mvn.log",
    )
    if not any(lib.glob(f"kafka_2.13-{kafka_version}.jar")):
        raise StackError(f"mvn finished but {lib} holds no kafka_2.13-{kafka_version}.jar")
    (target / _READY_MARKER).touch()
    return lib


def fetch_elasticsearch(cache_dir: Path, version: str) -> Path:
    """The Elasticsearch distribution zip, fetched once per version."""
    target = cache_dir / "artifacts" / f"elasticsearch-{version}"
    archive = target / f"elasticsearch-{version}.zip"
    if (target / _READY_MARKER).exists() and archive.exists():
        return archive
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    _run_mvn(
        [
            f"{DEPENDENCY_PLUGIN}:copy",
            f"-Dartifact={ELASTICSEARCH_ZIP_COORDINATE}:{version}:zip",
            f"-DoutputDirectory={target}",
        ],
        f"Elasticsearch {version}",
        target / "mvn.log",
    )
    if not archive.exists():
        raise StackError(f"mvn finished but {archive} is missing")
    (target / _READY_MARKER).touch()
    return archive
