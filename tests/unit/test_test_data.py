"""The vendored third-party test data, and that CI leaves no corpus test out (issue #20, item 8).

Runs everywhere. On a fresh clone it checks the vendored copies against their recorded
SHA-256 and licence; where the shared corpus is present it also checks that every file of it
whose licence allows redistribution is vendored, byte for byte; in CI (``CI`` set, or an
explicit ``EDIGW_CORPUS``) it fails when the corpus is missing or a test was deselected.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pytest

from tests.conftest import LEFT_OUT_KEY
from tests.corpus import (
    CORPUS,
    VENDORED_CORPUS,
    VENDORED_EDIFACT,
    ci_requires_corpus,
    corpus_present,
    needs_corpus,
)

REDISTRIBUTABLE = ("MIT", "BSD", "Apache", "LGPL")


def _vendored_rows() -> dict[str, tuple[str, str]]:
    """file (relative to tests/data/corpus) -> (licence, sha256), from its SOURCES.md."""
    rows: dict[str, tuple[str, str]] = {}
    for line in (VENDORED_CORPUS / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 6 and cells[0] not in ("file", "---"):
            rows[cells[0]] = (cells[4], cells[5].strip("`"))
    return rows


def test_every_vendored_file_is_listed_licensed_and_unchanged() -> None:
    rows = _vendored_rows()
    files = {
        p.relative_to(VENDORED_CORPUS).as_posix()
        for p in VENDORED_CORPUS.rglob("*")
        if p.is_file() and p.name not in ("SOURCES.md", "SOURCES.tsv")
    }
    assert len(files) >= 30
    assert files == set(rows)
    # The generator of the directory tables reads the definitions' provenance from the
    # corpus's SOURCES.tsv: its rows for the vendored definitions are kept beside them.
    tsv = VENDORED_CORPUS / "edifact" / "SOURCES.tsv"
    with tsv.open(newline="", encoding="utf-8") as f:
        described = {f"edifact/{r['file']}" for r in csv.DictReader(f, delimiter="\t")}
    assert described == {n for n in files if n.startswith("edifact/directory/")}
    for name, (licence, sha256) in rows.items():
        assert licence.startswith(REDISTRIBUTABLE), (name, licence)
        assert hashlib.sha256((VENDORED_CORPUS / name).read_bytes()).hexdigest() == sha256, name


def _vendored_tsv_rows() -> list[dict[str, str]]:
    with (VENDORED_CORPUS / "edifact" / "SOURCES.tsv").open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def _corpus_rows(folder: str) -> list[dict[str, str]]:
    with (CORPUS / folder / "SOURCES.tsv").open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


@needs_corpus
def test_every_redistributable_corpus_file_is_vendored_byte_for_byte() -> None:
    copied = 0
    for folder in ("edifact", "xml"):
        for row in _corpus_rows(folder):
            source = CORPUS / folder / row["file"]
            if row["file"].endswith(".edi"):
                copy = VENDORED_EDIFACT / row["file"]
            else:
                copy = VENDORED_CORPUS / folder / row["file"]
            if row["licence"].startswith(REDISTRIBUTABLE):
                assert copy.is_file(), f"{source} may be redistributed: vendor it"
                assert copy.read_bytes() == source.read_bytes(), copy
                copied += 1
                if folder == "edifact" and not row["file"].endswith(".edi"):
                    assert row in _vendored_tsv_rows(), f"{row['file']}: SOURCES.tsv row differs"
            else:
                assert not copy.exists(), f"{copy}: {row['licence']} does not allow copying"
    assert copied >= 50


def test_in_ci_no_corpus_test_is_left_out(pytestconfig: pytest.Config) -> None:
    left_out = pytestconfig.stash[LEFT_OUT_KEY]
    if ci_requires_corpus() or corpus_present():
        assert corpus_present(), f"CI must have the shared corpus at {CORPUS} (EDIGW_CORPUS)"
        assert left_out == []
    else:
        # A fresh clone: the marked test of this module was deselected, and only it here.
        here = [n for n in left_out if n.startswith("tests/unit/test_test_data.py::")]
        assert here == [
            "tests/unit/test_test_data.py::"
            "test_every_redistributable_corpus_file_is_vendored_byte_for_byte"
        ]


def test_the_corpus_location_follows_edigw_corpus(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import importlib

    import tests.corpus as where

    monkeypatch.setenv("EDIGW_CORPUS", str(tmp_path))
    try:
        moved = importlib.reload(where)
        assert tmp_path == moved.CORPUS and moved.ci_requires_corpus()
        assert not moved.corpus_present()  # an empty folder is not a corpus
        (tmp_path / "edifact").mkdir()
        (tmp_path / "xml").mkdir()
        assert moved.corpus_present()
    finally:
        monkeypatch.undo()
        importlib.reload(where)
