"""Where the tests find real-world data: vendored copies here, the shared corpus when present.

Two kinds of third-party test data (README, "Test data"):

- files whose licence allows redistribution (MIT, BSD, Apache-2.0, LGPL) are vendored,
  byte for byte, in ``tests/data/edifact`` and ``tests/data/corpus`` with their attribution
  (``SOURCES.md`` beside them): the tests that use only these run on any fresh clone;
- the rest (no licence found, GPL, EUPL, UN/CEFACT and OASIS notices, unverified) is read
  from the shared corpus, ``../shared/corpus`` beside the project or ``$EDIGW_CORPUS``.
  Tests that need it carry the ``needs_corpus`` mark (or request the ``corpus`` fixture);
  without a corpus they are deselected at collection with the reason below, never skipped
  silently, and ``tests/unit/test_test_data.py`` fails in CI if anything was left out.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS_FROM_ENV = os.environ.get("EDIGW_CORPUS", "")
CORPUS = Path(CORPUS_FROM_ENV) if CORPUS_FROM_ENV else ROOT.parent / "shared" / "corpus"
VENDORED_EDIFACT = ROOT / "tests" / "data" / "edifact"
VENDORED_CORPUS = ROOT / "tests" / "data" / "corpus"

LEFT_OUT_REASON = (
    "needs shared-corpus files whose licence does not allow copying them into this repository "
    "(no licence found, GPL, EUPL, UN/CEFACT or OASIS notices, unverified); "
    "put the corpus at ../shared/corpus or set EDIGW_CORPUS to run it"
)
needs_corpus = pytest.mark.needs_corpus


def corpus_present() -> bool:
    """True when the shared corpus is there (read at call time: tests may move it)."""
    return (CORPUS / "edifact").is_dir() and (CORPUS / "xml").is_dir()


def ci_requires_corpus() -> bool:
    """CI always has the corpus; an explicit EDIGW_CORPUS means the caller wants it too."""
    return bool(os.environ.get("CI")) or bool(CORPUS_FROM_ENV)


def edifact_file(name: str) -> Path:
    """A corpus EDIFACT file: the vendored copy when there is one, else the shared corpus's."""
    local = VENDORED_EDIFACT / name
    return local if local.is_file() else CORPUS / "edifact" / name


def edifact_param(name: str) -> object:
    """``name`` as a pytest parameter, marked ``needs_corpus`` when it is not vendored."""
    if (VENDORED_EDIFACT / name).is_file():
        return pytest.param(name, id=name)
    return pytest.param(name, id=name, marks=needs_corpus)
