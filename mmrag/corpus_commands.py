"""``mmrag corpus list|fetch``: real documentation corpora, fetched as Debian packages and
unpacked under ``~/.cache/mmrag/corpora`` (never into the checkout), to index with
``mmrag watch`` and evaluate with ``mmrag eval``.

``fetch`` is idempotent: a corpus unpacked once is reused. It prints only the folder to
index on stdout, so ``mmrag watch "$(mmrag corpus fetch postgresql-doc-15)"`` works.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

errors = Console(stderr=True)
corpus_app = typer.Typer(help="Real document corpora for evaluation.", no_args_is_help=True)

COMPLETE_MARKER = ".mmrag-complete"


@dataclass(frozen=True)
class DebianCorpus:
    name: str
    package: str
    """The Debian package that carries the documents."""
    folder: str
    """The documents' folder inside the package."""
    description: str


CORPORA = {
    corpus.name: corpus
    for corpus in (
        DebianCorpus(
            "postgresql-doc-15",
            "postgresql-doc-15",
            "usr/share/doc/postgresql-doc-15/html",
            "the PostgreSQL 15 manual: 1,169 HTML pages (DocBook)",
        ),
    )
}


class CorpusError(RuntimeError):
    """The corpus could not be fetched or unpacked; the message says why."""


def default_corpora_dir() -> Path:
    return Path.home() / ".cache" / "mmrag" / "corpora"


def corpus_folder(corpus: DebianCorpus, cache_dir: Path) -> Path:
    """Where the corpus's documents are once unpacked."""
    return cache_dir / corpus.name / corpus.folder


def fetch_corpus(corpus: DebianCorpus, cache_dir: Path, deb: Path | None = None) -> Path:
    """Download (``apt-get download``, unless ``deb`` is given) and unpack (``dpkg -x``)
    the corpus once; return its documents' folder. A half-done earlier attempt is redone."""
    target = cache_dir / corpus.name
    folder = corpus_folder(corpus, cache_dir)
    if (target / COMPLETE_MARKER).is_file() and folder.is_dir():
        return folder
    _require("dpkg", "dpkg (Debian's package tool) is needed to unpack the corpus")
    if deb is None:
        _require("apt-get", "apt-get is needed to download the corpus (or give --deb FILE)")
    elif not deb.is_file():
        raise CorpusError(f"{deb} is not a file")
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=f".{corpus.name}-") as work:
        workdir = Path(work)
        package = deb.resolve() if deb is not None else _download(corpus.package, workdir)
        unpacked = workdir / "unpacked"
        _run(["dpkg", "-x", str(package), str(unpacked)], f"dpkg -x {package.name}")
        if not (unpacked / corpus.folder).is_dir():
            raise CorpusError(f"{package.name} has no {corpus.folder}/")
        (unpacked / COMPLETE_MARKER).write_text(f"{package.name}\n")
        if target.exists():
            shutil.rmtree(target)
        unpacked.rename(target)
    return folder


def _download(package: str, workdir: Path) -> Path:
    _run(["apt-get", "download", package], f"apt-get download {package}", cwd=workdir)
    packages = sorted(workdir.glob(f"{package}_*.deb"))
    if not packages:
        raise CorpusError(f"apt-get download {package} wrote no .deb file")
    return packages[-1]


def _run(command: list[str], what: str, cwd: Path | None = None) -> None:
    try:
        result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    except OSError as error:
        raise CorpusError(f"{what}: {error}") from error
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip().splitlines()
        reason = output[-1] if output else f"exit status {result.returncode}"
        raise CorpusError(f"{what} failed: {reason}")


def _require(tool: str, message: str) -> None:
    if shutil.which(tool) is None:
        raise CorpusError(f"{message}; `{tool}` is not on PATH")


CacheDirOption = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir",
        envvar="MMRAG_CORPORA_DIR",
        help="Where corpora are unpacked. Default: ~/.cache/mmrag/corpora.",
    ),
]


@corpus_app.command("list")
def list_corpora(cache_dir: CacheDirOption = None) -> None:
    """The corpora ``fetch`` knows, and whether each is fetched."""
    directory = cache_dir or default_corpora_dir()
    for corpus in CORPORA.values():
        fetched = (directory / corpus.name / COMPLETE_MARKER).is_file()
        state = str(corpus_folder(corpus, directory)) if fetched else "not fetched"
        typer.echo(f"{corpus.name}\t{corpus.description}\t{state}")


@corpus_app.command("fetch")
def fetch(
    name: Annotated[str, typer.Argument(help=f"One of: {', '.join(CORPORA)}.")],
    deb: Annotated[
        Path | None, typer.Option(help="Unpack this already downloaded .deb instead.")
    ] = None,
    cache_dir: CacheDirOption = None,
) -> None:
    """Fetch and unpack a corpus once; print the folder to index."""
    corpus = CORPORA.get(name)
    if corpus is None:
        raise typer.BadParameter(f"unknown corpus {name!r}; choose from {', '.join(CORPORA)}")
    directory = cache_dir or default_corpora_dir()
    if not (directory / corpus.name / COMPLETE_MARKER).is_file():
        errors.print(f"fetching {corpus.name} ({corpus.description}) into {directory} …")
    try:
        folder = fetch_corpus(corpus, directory, deb)
    except CorpusError as error:
        errors.print(f"error: {error}", markup=False, highlight=False)
        raise typer.Exit(1) from error
    typer.echo(str(folder))
