"""The single-node Elasticsearch of the local stack: fetch, unpack, start unprivileged."""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import httpx

from compose.local.configs import elasticsearch_yml
from compose.local.errors import StackError
from compose.local.java import find_java_home
from compose.local.maven import fetch_elasticsearch
from compose.local.processes import PidFile, start_detached
from compose.local.settings import StackSettings

ELASTICSEARCH_MINIMUM_JAVA = 21
UNPRIVILEGED_USER = ("nobody", "nogroup")


def _running_as_root() -> bool:
    return os.geteuid() == 0


class ElasticsearchService:
    """Elasticsearch refuses to run as root: as root it runs as ``nobody`` from a run
    directory outside root's (private) home; otherwise from the cache directory."""

    name = "elasticsearch"

    def __init__(self, settings: StackSettings) -> None:
        self._settings = settings
        self.run_dir = settings.elasticsearch_run_dir or self._default_run_dir()
        self.state_dir = settings.cache_dir / "elasticsearch"
        self.pid_file = PidFile(self.state_dir / "elasticsearch.pid", marker=str(self.run_dir))
        self.console_log = self.state_dir / "console.log"

    def _default_run_dir(self) -> Path:
        if _running_as_root():
            port = self._settings.elasticsearch_port
            return Path(tempfile.gettempdir()) / f"mmrag-stack-elasticsearch-{port}"
        return self._settings.cache_dir / "elasticsearch" / "run"

    @property
    def ports(self) -> tuple[int, ...]:
        return (self._settings.elasticsearch_port, self._settings.elasticsearch_transport_port)

    @property
    def address(self) -> str:
        return self._settings.elasticsearch_url

    @property
    def log_file(self) -> Path:
        return self.run_dir / "logs" / "mmrag-local.log"

    def start(self) -> int:
        settings = self._settings
        java_home = find_java_home(
            ELASTICSEARCH_MINIMUM_JAVA, settings.elasticsearch_java_home, "Elasticsearch"
        )
        archive = fetch_elasticsearch(settings.cache_dir, settings.elasticsearch_version)
        home = self._unpack(archive, settings.elasticsearch_version)
        data_dir = self.run_dir / "data"
        logs_dir = self.run_dir / "logs"
        for directory in (data_dir, logs_dir):
            directory.mkdir(parents=True, exist_ok=True)
        (home / "config" / "elasticsearch.yml").write_text(
            elasticsearch_yml(
                host=settings.host,
                port=settings.elasticsearch_port,
                transport_port=settings.elasticsearch_transport_port,
                data_dir=data_dir,
                logs_dir=logs_dir,
            )
        )
        command = [str(home / "bin" / "elasticsearch")]
        if _running_as_root():
            self._hand_to_unprivileged_user()
            user, group = UNPRIVILEGED_USER
            setpriv = shutil.which("setpriv")
            if setpriv is None:
                raise StackError(
                    "Elasticsearch refuses to run as root and setpriv (util-linux) is missing "
                    "to drop privileges; install util-linux or run as an ordinary user"
                )
            command = [setpriv, f"--reuid={user}", f"--regid={group}", "--clear-groups", *command]
        environment = {
            **os.environ,
            "ES_JAVA_HOME": str(java_home),
            "ES_JAVA_OPTS": f"-Xms{settings.elasticsearch_heap} -Xmx{settings.elasticsearch_heap}",
            "ES_PATH_CONF": str(home / "config"),
            "HOME": str(self.run_dir),
        }
        environment.pop("JAVA_HOME", None)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        pid = start_detached(command, env=environment, log_file=self.console_log, cwd=self.run_dir)
        self.pid_file.write(pid)
        return pid

    def _unpack(self, archive: Path, version: str) -> Path:
        home = self.run_dir / f"elasticsearch-{version}"
        marker = self.run_dir / f".unpacked-{version}"
        if marker.exists() and home.is_dir():
            return home
        shutil.rmtree(home, ignore_errors=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(archive) as bundle:
            bundle.extractall(self.run_dir)
        if not home.is_dir():
            raise StackError(f"{archive} did not unpack to {home}")
        for script in (home / "bin").iterdir():
            script.chmod(0o755)
        marker.touch()
        return home

    def _hand_to_unprivileged_user(self) -> None:
        user, group = UNPRIVILEGED_USER
        for directory, _, files in os.walk(self.run_dir):
            shutil.chown(directory, user, group)
            for name in files:
                shutil.chown(os.path.join(directory, name), user, group)

    def healthy(self) -> bool:
        """Cluster health yellow or green (this distribution answers no ``GET /``)."""
        try:
            response = httpx.get(
                f"{self.address}/_cluster/health",
                params={"wait_for_status": "yellow", "timeout": "2s"},
                timeout=5.0,
            )
        except httpx.HTTPError:
            return False
        return response.status_code == 200 and response.json().get("status") in {
            "yellow",
            "green",
        }
