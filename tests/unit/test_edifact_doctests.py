"""The examples in the docstrings of the EDIFACT engine and CONTRL stay true."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

import adapters.contrl
import adapters.contrl.encoder
import adapters.contrl.envelope
import adapters.contrl.reader
import adapters.edifact.assembler
import adapters.edifact.errors
import adapters.edifact.hotloop
import adapters.edifact.lexer
import adapters.edifact.model
import adapters.edifact.policy
import adapters.edifact.serializer
import adapters.edifact.splitting
import adapters.edifact.stream
import adapters.edifact.syntax
import adapters.registry

ENGINE = [
    adapters.edifact.syntax,
    adapters.edifact.errors,
    adapters.edifact.model,
    adapters.edifact.policy,
    adapters.edifact.splitting,
    adapters.edifact.hotloop,
    adapters.edifact.lexer,
    adapters.edifact.assembler,
    adapters.edifact.serializer,
    adapters.edifact.stream,
    adapters.registry,
]


@pytest.mark.parametrize(
    "module",
    [
        *ENGINE,
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
