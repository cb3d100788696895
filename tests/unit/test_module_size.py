"""Issue #15: no module of ``gateway/`` or ``adapters/`` grows past 700 lines (the generated
directory tables aside), so each stays one thing a reader can hold."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 700
MODULES = sorted(
    path
    for package in ("gateway", "adapters")
    for path in (ROOT / package).rglob("*.py")
    # Generated tables: data written by scripts/, not code (docs/directory.md).
    if "directories" not in path.relative_to(ROOT).parts
)


def test_the_modules_are_found() -> None:
    assert len(MODULES) > 100


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_over_700_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= LIMIT, f"{path.relative_to(ROOT)} has {lines} lines; split it along a seam"
