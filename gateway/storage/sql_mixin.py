"""What a group of journal tables (calls, console, ...) uses of the journal's SQL connection.

The groups are mixins of ``gateway.storage.journal.SqlJournal``, which provides these; the
stubs exist for the type checker only, so a mixin says once what it relies on.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any


class SqlMixin:
    """The journal's connection, as a table group's mixin sees it."""

    if TYPE_CHECKING:  # provided by gateway.storage.journal.SqlJournal

        def _tx(self, immediate: bool = False) -> AbstractContextManager[Any]: ...

        def _read(self) -> AbstractContextManager[Any]: ...

        def _q(self, sql: str) -> str: ...

        def _exec(self, cur: Any, sql: str, params: Sequence[Any] = ()) -> Any: ...

        def _ensure_tables(self, ready: str, statements: Sequence[str]) -> None: ...
