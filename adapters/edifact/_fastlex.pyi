"""Types of the compiled fast path of the lexer (adapters/edifact/_fastlex.c)."""

from collections.abc import Callable
from typing import Any

API: int

def configure(
    segment_type: type,
    slots: tuple[str, str, str, str],
    plain_tags: set[str],
    cache_entries: int,
    cache_value_length: int,
    /,
) -> None: ...
def untracks_segments() -> bool: ...
def layout_facts(
    buf: bytes,
    element: bytes,
    component: bytes,
    release: bytes,
    terminator: bytes,
    rel_in: bool,
    /,
) -> tuple[bool, bool] | None: ...
def plain_run(
    pieces: list[str],
    start: int,
    number: int,
    sink: Callable[[Any], object],
    cache: dict[str, tuple[str, ...]],
    element_separator: str,
    release: str,
    layout: str,
    /,
) -> tuple[int, int]: ...
