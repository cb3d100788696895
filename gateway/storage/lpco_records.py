"""The LPCO registry's rows (issue #14, #20): every accepted (partner, issuer, number, version)
of a ministry's certificate, its content hash and the receipt that answered it.

The lifecycle rules are the ministry desk's (``gateway.service.receipts.LpcoRegistry``); this
module keeps the rows, with one implementation (:class:`LpcoRecords`) over a
``gateway.storage.sql_database.SqlDatabase``:

* SQLite: ``<state_dir>/lpco.sqlite3``, one gateway (:class:`SqliteLpcoRecords`);
* PostgreSQL: the journal's database (schema version 2, ``gateway.storage.migrations``),
  shared by every instance, so a certificate one instance accepted is a duplicate at all of
  them. The key is the table's primary key: of two instances inserting the same version at
  once, one insert wins and the other is told so (:meth:`LpcoRecords.insert` is False).

>>> records = SqliteLpcoRecords(":memory:")
>>> key = ("agriculture", "MADR", "SPS-1", 1)
>>> records.insert(key, "issued", "c0ffee", "g1", "in-1", b"<receipt/>")
True
>>> records.insert(key, "issued", "other", "g2", "in-2", b"<receipt/>")
False
>>> records.lookup(key)
(('c0ffee', b'<receipt/>', 'in-1'), (1, 'issued'))
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from gateway.logs import get_logger
from gateway.storage.sql_database import SqlDatabase, SqliteDatabase

log = get_logger()

# The SQLite file's own version (PRAGMA user_version). Version 2 (issue #14): the key starts
# with the partner that signed; version 1 keyed on the declared issuer alone
# (PRIMARY KEY (issuer, number, version)), and SqliteLpcoRecords rebuilds it.
SCHEMA_VERSION_REGISTRY: Final = 2
COLUMNS: Final = (
    "partner, issuer, number, version, status, content_sha256, gateway_reference, "
    "inbound_message_id, receipt, recorded_at"
)
_TABLE = """
CREATE TABLE IF NOT EXISTS {name} (
    partner TEXT NOT NULL,
    issuer TEXT NOT NULL,
    number TEXT NOT NULL,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    gateway_reference TEXT NOT NULL,
    inbound_message_id TEXT NOT NULL,
    receipt {blob} NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (partner, issuer, number, version)
)
"""
POSTGRES_LPCO_TABLE: Final = _TABLE.format(name="lpco", blob="BYTEA")

LpcoKey = tuple[str, str, str, int]  # partner, issuer, number, version (``Lpco.key``)
Same = tuple[str, bytes, str]  # content hash, receipt, inbound message id
Latest = tuple[int, str]  # version, status


class LpcoRecords:
    """The registry's rows on either backend."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    def lookup(self, key: LpcoKey) -> tuple[Same | None, Latest | None]:
        """The row of this very version, and the latest version of the number with its status
        (both of the same signing partner and issuer), read together."""
        partner, issuer, number, version = key
        # One statement, so one snapshot: read in two, another instance's version could
        # appear between them (absent as "this version", present as "the latest").
        with self._db.read() as cur:
            cur.execute(
                self._db.q(
                    "SELECT version, status, content_sha256, receipt, inbound_message_id "
                    "FROM lpco WHERE partner=? AND issuer=? AND number=? AND (version=? OR "
                    "version=(SELECT MAX(version) FROM lpco "
                    "WHERE partner=? AND issuer=? AND number=?))"
                ),
                (partner, issuer, number, version, partner, issuer, number),
            )
            rows = cur.fetchall()
        same: Same | None = None
        latest: Latest | None = None
        for row_version, status, content, receipt, inbound in rows:
            if int(row_version) == version:
                same = (str(content), bytes(receipt), str(inbound))
            if latest is None or int(row_version) > latest[0]:
                latest = (int(row_version), str(status))
        return same, latest

    def insert(
        self,
        key: LpcoKey,
        status: str,
        content_sha256: str,
        gateway_reference: str,
        inbound_message_id: str,
        receipt: bytes,
    ) -> bool:
        """Keep one accepted version; False when that version was already kept (by another
        instance since this one looked, or before): nothing changed then."""
        with self._db.transaction() as cur:
            cur.execute(
                self._db.q(
                    f"INSERT INTO lpco ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT DO NOTHING"
                ),
                (
                    *key,
                    status,
                    content_sha256,
                    gateway_reference,
                    inbound_message_id,
                    receipt,
                    dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
                ),
            )
            return bool(cur.rowcount)

    def history(self, number: str) -> list[dict[str, Any]]:
        """Every version of ``number`` (any partner and issuer), oldest first."""
        keys = (
            "issuer",
            "number",
            "version",
            "status",
            "partner",
            "gateway_reference",
            "inbound_message_id",
            "recorded_at",
        )
        with self._db.read() as cur:
            cur.execute(
                self._db.q(
                    f"SELECT {', '.join(keys)} FROM lpco WHERE number=? "
                    "ORDER BY partner, issuer, version"
                ),
                (number,),
            )
            rows = cur.fetchall()
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def close(self) -> None:
        self._db.close()


class SqliteLpcoRecords(LpcoRecords):
    """The rows in a SQLite file of their own (one gateway instance)."""

    def __init__(self, path: str) -> None:
        db = SqliteDatabase(path)
        with db.transaction() as cur:
            _migrate(cur)
        super().__init__(db)


def _migrate(cur: Any) -> None:
    """Create the table, or rebuild a version 1 table under the version 2 key.

    Every row keeps its columns: version 1 already stored the partner each document came
    from, so a row lands under the ministry that really sent it. In the caller's transaction
    (taken before looking), so that two processes opening the same file migrate it once.
    """
    version = int(cur.execute("PRAGMA user_version").fetchone()[0])
    exists = cur.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='lpco'"
    ).fetchone()
    if exists and version < SCHEMA_VERSION_REGISTRY:
        cur.execute(_TABLE.format(name="lpco_v2", blob="BLOB"))
        cur.execute(f"INSERT INTO lpco_v2 ({COLUMNS}) SELECT {COLUMNS} FROM lpco")
        moved = cur.execute("SELECT count(*) FROM lpco_v2").fetchone()[0]
        cur.execute("DROP TABLE lpco")
        cur.execute("ALTER TABLE lpco_v2 RENAME TO lpco")
        log.info("LPCO registry migrated: keyed by the signing partner", rows=moved)
    else:
        cur.execute(_TABLE.format(name="lpco", blob="BLOB"))
    cur.execute(f"PRAGMA user_version={SCHEMA_VERSION_REGISTRY}")
