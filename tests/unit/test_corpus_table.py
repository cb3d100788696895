"""docs/edifact.md's corpus table says what the gateway makes of every corpus file (issue #16).

``scripts/corpus_table.py`` computes each file's outcome through ``edigw translate``'s path and
refuses to render a reason that explains another outcome; here the table is rendered again
and must be the one in the doc, so neither the outcomes nor the reasons can go stale.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from tests.corpus import needs_corpus

ROOT = Path(__file__).resolve().parents[2]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "corpus_table", ROOT / "scripts" / "corpus_table.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["corpus_table"] = module
    spec.loader.exec_module(module)
    return module


@needs_corpus
def test_the_doc_s_corpus_table_is_what_the_gateway_says_of_each_file() -> None:
    script = _script()
    text = (ROOT / "docs" / "edifact.md").read_text(encoding="utf-8")
    start, end = text.index(script.BEGIN), text.index(script.END) + len(script.END)
    assert text[start:end] == script.render()


@needs_corpus
def test_every_corpus_message_file_has_a_row_and_a_reason() -> None:
    script = _script()
    files = script.corpus_files()
    assert len(files) >= 40
    assert set(files) == set(script.REASONS)
    assert sum(f.endswith(".edi") for f in files) == 34
