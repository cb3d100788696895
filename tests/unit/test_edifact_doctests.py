"""The examples in the docstrings of the EDIFACT engine and CONTRL stay true."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

import adapters.contrl
import adapters.contrl.encoder
import adapters.contrl.envelope
import adapters.contrl.reader
import adapters.edifact.stream
import adapters.edifact.syntax


@pytest.mark.parametrize(
    "module",
    [
        adapters.edifact.syntax,
        adapters.edifact.stream,
        adapters.contrl,
        adapters.contrl.envelope,
        adapters.contrl.reader,
        adapters.contrl.encoder,
    ],
)
def test_docstring_examples(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
