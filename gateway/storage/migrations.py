"""Versioned schema migrations of the PostgreSQL journal (``edigw db upgrade``, issue #20).

The database records the versions applied in ``schema_migrations``. :data:`MIGRATIONS` lists
them in order; each is applied once, in its own transaction, under an advisory lock, so two
instances or two operators upgrading at once apply each version once. Upgrading twice
changes nothing.

Version 2 (issue #20, point 2) adds what each machine used to keep in a local SQLite file: the
operators' audit trail and the LPCO registry. Their stores also create their tables on first
use, as the journal does, so a command run before the upgrade finds them; a trail kept locally
by an earlier release is imported on purpose, never silently (``edigw db import-audit``).
Version 3 (issue #17) adds the claims by which one instance reconciles a call after hours.
Version 4 (issue #17) adds what a correction of a call document replaced (given back when the
correction is withdrawn as unroutable) and the discrepancy reports told to customs, with
customs' answers to them. Version 5 (issue #17) adds the cross-checks of a call's dangerous
goods made again as its manifests and notifications are filed (``call_dangerous_checks``).
Version 6 (issue #17, point 5) adds the outward (export) manifests of a call and the claims by
which one instance reconciles a call's loading after its departure.

Version 1 is the journal as the code before versioning created it, table by table and on
first use (``CREATE TABLE IF NOT EXISTS``, every statement): applied to an empty database it
creates every table; applied to a database that code made it adds the tables not used yet
and only records the version. A later change of schema is a new entry at the end, never an
edit of one that was released.

``edigw run`` with the PostgreSQL backend refuses to start (exit 2) while the database is
behind :data:`LATEST` (``gateway.interfaces.cli``): an upgrade is an operator's decision,
taken once per site, not a side effect of whichever instance starts first.

>>> [m.version for m in MIGRATIONS] == list(range(1, LATEST + 1))
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from gateway.storage.audit import POSTGRES_AUDIT_TABLES
from gateway.storage.journal_call_history import CALL_HISTORY_TABLES
from gateway.storage.journal_calls import CALL_TABLES, RECONCILIATION_TABLES
from gateway.storage.journal_console import CONSOLE_TABLES
from gateway.storage.journal_dangerous import DANGEROUS_CHECK_TABLES
from gateway.storage.journal_loading import LOADING_TABLES
from gateway.storage.lpco_records import POSTGRES_LPCO_TABLE
from gateway.storage.records import _now
from gateway.storage.schema import AMENDMENT_TABLES, PORTABLE_SCHEMA, POSTGRES_TABLES
from gateway.storage.sent_interchanges import SCHEMA as SENT_INTERCHANGES
from gateway.storage.travellers_store import _TABLES as TRAVELLERS_TABLES

# The same key as the journal's own table creation: an upgrade and a starting journal wait
# for each other.
LOCK_KEY: Final = 6006

VERSIONS_TABLE: Final = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    statements: Sequence[str]


MIGRATIONS: Final[tuple[Migration, ...]] = (
    Migration(
        1,
        "the journal before versioning: messages, events, dedup, origins, audit, amendments, "
        "calls, travellers, sent interchanges, the console's samples and accounts",
        (
            POSTGRES_TABLES + PORTABLE_SCHEMA,
            *AMENDMENT_TABLES,
            *CALL_TABLES,
            *TRAVELLERS_TABLES,
            SENT_INTERCHANGES,
            *CONSOLE_TABLES,
        ),
    ),
    Migration(
        2,
        "shared by every instance: the operators' audit trail (operator_audit, "
        "operator_audit_messages) and the LPCO registry (lpco), kept in a local SQLite file "
        "per machine before",
        (POSTGRES_AUDIT_TABLES, POSTGRES_LPCO_TABLE),
    ),
    Migration(
        3,
        "who tells a call's reconciliation after hours (issue #17)",
        RECONCILIATION_TABLES,
    ),
    Migration(
        4,
        "what a call document's correction replaced, and the discrepancy reports told to "
        "customs with their answers (issue #17)",
        CALL_HISTORY_TABLES,
    ),
    Migration(
        5,
        "each cross-check of a call's dangerous goods, made again when a manifest or a "
        "notification of the call is filed, corrected or withdrawn (issue #17)",
        DANGEROUS_CHECK_TABLES,
    ),
    Migration(
        6,
        "a call's outward (export) manifests, and who tells its loading reconciliation after "
        "departure (issue #17, point 5)",
        LOADING_TABLES,
    ),
)
LATEST: Final = MIGRATIONS[-1].version


class SchemaOutdated(RuntimeError):
    """The database's schema is behind this gateway's (``edigw db upgrade`` brings it up)."""


def current_version(cur: Any) -> int:
    """The highest version applied (0: none, or a database from before versioning)."""
    cur.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not cur.fetchone()[0]:
        return 0
    cur.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
    return int(cur.fetchone()[0])


def upgrade(conn: Any, *, until: int = LATEST) -> list[int]:
    """Apply every migration above the database's version up to ``until`` (a psycopg
    connection in autocommit mode); the versions applied now, in order ([] when it was up to
    date). ``until`` below the latest makes a database of an earlier release (the tests')."""
    applied: list[int] = []
    for migration in MIGRATIONS[:until]:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            cur.execute(VERSIONS_TABLE)
            if current_version(cur) >= migration.version:
                continue
            for statement in migration.statements:
                cur.execute(statement)
            cur.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (%s, %s, %s)",
                (migration.version, migration.name, _now()),
            )
            applied.append(migration.version)
    return applied
