"""``mmrag corpus fetch``: unpacking a real Debian package (built here with dpkg-deb),
idempotence, and clear errors. The download itself (apt-get) needs the network."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmrag.cli import app
from mmrag.corpus_commands import COMPLETE_MARKER, CorpusError, DebianCorpus, fetch_corpus

CORPUS = DebianCorpus("tiny-doc", "tiny-doc", "usr/share/doc/tiny-doc/html", "a test corpus")


def _deb(tmp_path: Path, folder: str = CORPUS.folder) -> Path:
    root = tmp_path / "package"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        "Package: tiny-doc\nVersion: 1.0\nArchitecture: all\n"
        "Maintainer: Test <test@example.org>\nDescription: tiny documents\n"
    )
    (root / folder).mkdir(parents=True)
    (root / folder / "index.html").write_text("<html><title>Tiny</title></html>")
    deb = tmp_path / "tiny-doc_1.0_all.deb"
    subprocess.run(["dpkg-deb", "--build", str(root), str(deb)], check=True, capture_output=True)
    return deb


def test_unpacks_once_and_reuses(tmp_path: Path) -> None:
    cache = tmp_path / "corpora"
    folder = fetch_corpus(CORPUS, cache, _deb(tmp_path))
    assert folder == cache / "tiny-doc" / CORPUS.folder
    assert (folder / "index.html").read_text().startswith("<html>")
    assert (cache / "tiny-doc" / COMPLETE_MARKER).is_file()
    # The second fetch neither needs the package nor touches the files.
    (folder / "index.html").write_text("kept")
    assert fetch_corpus(CORPUS, cache, tmp_path / "gone.deb") == folder
    assert (folder / "index.html").read_text() == "kept"
    assert [p.name for p in cache.iterdir()] == ["tiny-doc"]  # no leftover work folders


def test_a_half_unpacked_corpus_is_redone(tmp_path: Path) -> None:
    cache = tmp_path / "corpora"
    (cache / "tiny-doc" / "junk").mkdir(parents=True)
    folder = fetch_corpus(CORPUS, cache, _deb(tmp_path))
    assert (folder / "index.html").is_file()
    assert not (cache / "tiny-doc" / "junk").exists()


def test_a_package_without_the_folder_is_refused(tmp_path: Path) -> None:
    deb = _deb(tmp_path, folder="usr/share/doc/elsewhere")
    with pytest.raises(CorpusError, match=r"has no usr/share/doc/tiny-doc/html/"):
        fetch_corpus(CORPUS, tmp_path / "corpora", deb)
    assert not (tmp_path / "corpora" / "tiny-doc").exists()


def test_a_broken_package_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.deb"
    broken.write_bytes(b"not a deb")
    with pytest.raises(CorpusError, match=r"dpkg -x broken\.deb failed"):
        fetch_corpus(CORPUS, tmp_path / "corpora", broken)
    with pytest.raises(CorpusError, match="is not a file"):
        fetch_corpus(CORPUS, tmp_path / "corpora", tmp_path / "missing.deb")


def test_missing_tools_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(CorpusError, match="`dpkg` is not on PATH"):
        fetch_corpus(CORPUS, tmp_path / "corpora")


def test_command_prints_only_the_folder(tmp_path: Path) -> None:
    runner = CliRunner()
    deb = tmp_path / "postgresql-doc-15_0_all.deb"
    _deb(tmp_path, folder="usr/share/doc/postgresql-doc-15/html").rename(deb)
    cache = tmp_path / "corpora"
    arguments = [
        "corpus",
        "fetch",
        "postgresql-doc-15",
        "--deb",
        str(deb),
        "--cache-dir",
        str(cache),
    ]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(
        cache / "postgresql-doc-15/usr/share/doc/postgresql-doc-15/html"
    )
    listed = runner.invoke(app, ["corpus", "list", "--cache-dir", str(cache)])
    assert "postgresql-doc-15" in listed.stdout
    assert str(cache) in listed.stdout
    unknown = runner.invoke(app, ["corpus", "fetch", "nonsense", "--cache-dir", str(cache)])
    assert unknown.exit_code == 2
    assert "unknown corpus 'nonsense'" in unknown.output
