"""The journal: what happened to every message, searchable by business reference.

A small interface (:class:`Journal`) with an embedded SQLite implementation
(WAL mode) so that one gateway needs nothing else; a PostgreSQL implementation
(:mod:`gateway.storage.journal_pg`) for several instances plugs in behind the same interface.
Which one a gateway uses is chosen in one place, :func:`gateway.storage.backends.open_journal`,
called by the composition root (``gateway.bootstrap``) only.

The journal also makes the worker idempotent (see docs/reliability.md):

* ``processed`` remembers each inbound message id and how far it got
  (``decided`` before anything is published, ``done`` once every publish was
  confirmed), so a redelivered message that was already done has no effect;
* ``dedup`` holds business keys (sender + interchange control reference,
  sender + document type + business reference + version) claimed atomically by
  the first inbound message that carries them.

>>> j = SqliteJournal(":memory:")
>>> j.record_message("m1", type="CUSCAR", partner="apcs", correlation_id="m1")
>>> j.add_references("m1", ["BL42"])
>>> j.record_event("m1", "received", "3 segments")
>>> [m.message_id for m in j.track("BL42")]
['m1']
>>> j.claim("m1", {"icr:apcs:APCS:42": ""})
[]
>>> [c.owner for c in j.claim("m2", {"icr:apcs:APCS:42": ""})]
['m1']
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gateway.domain.amendments import DocumentVersion as DocumentVersion
from gateway.storage.journal_calls import CallTables
from gateway.storage.journal_console import ConsoleTables
from gateway.storage.records import FAMILY_LIMIT, TRACK_LIMIT, _check_status, _now, like_prefix
from gateway.storage.records import STATUSES as STATUSES
from gateway.storage.records import Conflict as Conflict
from gateway.storage.records import Event as Event
from gateway.storage.records import EventRow as EventRow
from gateway.storage.records import Journal as Journal
from gateway.storage.records import JournalUnavailable as JournalUnavailable
from gateway.storage.records import MessageHistory as MessageHistory
from gateway.storage.records import Origin as Origin
from gateway.storage.records import Overdue as Overdue
from gateway.storage.records import PartnerActivity as PartnerActivity
from gateway.storage.records import Processed as Processed
from gateway.storage.records import Tracked as Tracked
from gateway.storage.records import derived_id as derived_id
from gateway.storage.schema import AMENDMENT_TABLES, PORTABLE_SCHEMA, SQLITE_EVENTS
from gateway.storage.sent_interchanges import SentInterchanges
from gateway.storage.sql_database import SqliteDatabase
from gateway.storage.travellers_retention import TravellersStore


class SqlJournal(TravellersStore, CallTables, SentInterchanges, ConsoleTables):
    """The SQL both backends share; subclasses provide the connection and transactions.

    SQL is written with ``?`` placeholders and ``ON CONFLICT`` clauses that SQLite
    and PostgreSQL both understand. The travellers' records (issue #18) are in
    :class:`~gateway.storage.travellers_retention.TravellersStore`.
    """

    _lock: threading.Lock
    # The open unit of work: its cursor and the thread that owns it (see unit_of_work).
    _uow_cursor: Any = None
    _uow_thread: int | None = None

    # --- what a backend provides
    @contextmanager
    def _transaction(self, immediate: bool = False) -> Iterator[Any]:  # pragma: no cover
        """One transaction on the backend's connection, failures as JournalUnavailable."""
        raise NotImplementedError
        yield

    @contextmanager
    def _tx(self, immediate: bool = False) -> Iterator[Any]:
        if self._uow_thread == threading.get_ident():
            yield self._uow_cursor  # inside a unit of work: its transaction commits
            return
        with self._transaction(immediate) as cur:
            yield cur

    @contextmanager
    def _read(self) -> Iterator[Any]:
        """A cursor for one read statement: the open unit of work's, or the backend's."""
        if self._uow_thread == threading.get_ident():
            yield self._uow_cursor
            return
        with self._single_read() as cur:
            yield cur

    @contextmanager
    def _single_read(self) -> Iterator[Any]:
        """A backend may read one statement without BEGIN/COMMIT; by default a transaction."""
        with self._transaction() as cur:
            yield cur

    @contextmanager
    def unit_of_work(self) -> Iterator[None]:
        """Run several journal calls as one transaction: all of them or none, one commit.

        The worker records a message's decision this way (message, references, claims,
        origin, outcome): one commit instead of a dozen, and no half-recorded decision
        after a crash. Calls from other threads wait for it; nested units join the outer one.
        The write lock is taken at the start (SQLite ``BEGIN IMMEDIATE``), so keep the
        unit short: no pipeline work inside.

        >>> j = SqliteJournal(":memory:")
        >>> with j.unit_of_work():
        ...     j.record_message("m1", type="CUSCAR", partner="apcs", correlation_id="m1")
        ...     j.record_event("m1", "received")
        >>> try:
        ...     with j.unit_of_work():
        ...         j.record_event("m1", "routed")
        ...         raise RuntimeError("crash before the commit")
        ... except RuntimeError:
        ...     pass
        >>> [e.status for e in j.track("m1")[0].events]
        ['received']
        """
        if self._uow_thread == threading.get_ident():
            yield
            return
        with self._transaction(immediate=True) as cur:
            self._uow_cursor, self._uow_thread = cur, threading.get_ident()
            try:
                yield
            finally:
                self._uow_cursor, self._uow_thread = None, None

    def _q(self, sql: str) -> str:
        return sql

    def _exec(self, cur: Any, sql: str, params: Sequence[Any] = ()) -> Any:
        return cur.execute(self._q(sql), tuple(params))

    # --- the journal
    def record_message(
        self,
        message_id: str,
        *,
        type: str,
        partner: str,
        correlation_id: str,
        parent_id: str | None = None,
    ) -> None:
        with self._tx() as cur:
            self._exec(
                cur,
                # A second call refines what the first knew (e.g. the type, once decoded).
                "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(message_id) DO UPDATE SET "
                "type = excluded.type, parent_id = COALESCE(messages.parent_id, excluded.parent_id)",
                (message_id, parent_id, correlation_id, partner, type, _now()),
            )

    def add_references(self, message_id: str, references: Iterable[str]) -> None:
        rows = [(r, message_id) for r in dict.fromkeys(references) if r]
        if not rows:
            return
        with self._tx() as cur:
            cur.executemany(self._q("INSERT INTO refs VALUES (?, ?) ON CONFLICT DO NOTHING"), rows)

    def record_event(self, message_id: str, status: str, detail: str = "") -> None:
        _check_status(status)
        with self._tx() as cur:
            self._exec(
                cur,
                "INSERT INTO events (message_id, status, at, detail) VALUES (?, ?, ?, ?)",
                (message_id, status, _now(), detail),
            )

    def track(self, reference: str, *, limit: int = TRACK_LIMIT) -> Tracked:
        """Every message whose id or business reference starts with ``reference`` (any case),
        up to ``limit`` of them (``Tracked.more`` says when there were more), each with its
        family: the inbound interchange, the documents made of it, the dead letters of its
        messages and their replays (issue #19: one story)."""
        pattern = like_prefix(reference)
        with self._tx() as cur:
            found = self._exec(
                cur,
                "SELECT message_id FROM ("
                "SELECT message_id FROM refs WHERE lower(reference) LIKE ? ESCAPE '\\' "
                "UNION SELECT message_id FROM messages WHERE lower(message_id) LIKE ? ESCAPE '\\'"
                ") AS matched ORDER BY message_id LIMIT ?",
                (pattern, pattern, limit + 1),
            ).fetchall()
            ids = [r[0] for r in found]
            more = len(ids) > limit
            family = self._family(cur, ids[:limit])
            out = Tracked(more=more)
            if not family:
                return out
            rows = self._exec(
                cur,
                f"SELECT message_id, type, partner, correlation_id, parent_id FROM messages "
                f"WHERE message_id IN ({','.join('?' * len(family))}) "
                # Messages of the same millisecond in the order their story began (their
                # first event), not by their random ids.
                f"ORDER BY created_at, (parent_id IS NOT NULL), "
                f"COALESCE((SELECT MIN(e.id) FROM events e "
                f"WHERE e.message_id = messages.message_id), 0), message_id",
                tuple(sorted(family)),
            ).fetchall()
            for row in rows:
                history = MessageHistory(*row)
                history.events = [
                    Event(*e)
                    for e in self._exec(
                        cur,
                        "SELECT status, at, detail FROM events WHERE message_id = ? ORDER BY id",
                        (row[0],),
                    ).fetchall()
                ]
                out.append(history)
            return out

    def _family(self, cur: Any, ids: Iterable[str]) -> set[str]:
        """``ids`` with their ancestors and all their descendants, at most ``FAMILY_LIMIT``."""
        family: set[str] = set()
        roots: set[str] = set()
        for mid in ids:
            # Up to the first message: a replay's original, a document's interchange.
            seen = {mid}
            row = self._exec(
                cur, "SELECT parent_id FROM messages WHERE message_id = ?", (mid,)
            ).fetchone()
            while row and row[0] and row[0] not in seen and len(seen) < FAMILY_LIMIT:
                mid = row[0]
                seen.add(mid)
                row = self._exec(
                    cur, "SELECT parent_id FROM messages WHERE message_id = ?", (mid,)
                ).fetchone()
            family |= seen
            roots.add(mid)
        todo = list(roots)
        while todo and len(family) < FAMILY_LIMIT:
            parent = todo.pop()
            for (child,) in self._exec(
                cur, "SELECT message_id FROM messages WHERE parent_id = ?", (parent,)
            ).fetchall():
                if child not in family:
                    family.add(child)
                    todo.append(child)
        return family

    # --- idempotency
    def processed(self, message_id: str) -> Processed | None:
        """How far an inbound message got, or None if the gateway never decided about it."""
        with self._read() as cur:
            row = self._exec(
                cur,
                "SELECT message_id, state, outcome, detail, at FROM processed WHERE message_id = ?",
                (message_id,),
            ).fetchone()
        return Processed(*row) if row else None

    def claim(self, owner: str, keys: Mapping[str, str]) -> list[Conflict]:
        """Claim every dedup key for ``owner`` in one transaction; return the keys others hold.

        ``keys`` maps a key to a content fingerprint. A key already held by ``owner``
        (a redelivery of the same message) is no conflict. Keys held by others stay
        theirs; the caller decides what a conflict means.
        """
        conflicts: list[Conflict] = []
        if not keys:
            return conflicts
        at = _now()
        with self._tx(immediate=True) as cur:
            for key, fingerprint in keys.items():
                self._exec(
                    cur,
                    "INSERT INTO dedup VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (key, owner, fingerprint, at),
                )
                row = self._exec(
                    cur, "SELECT owner, fingerprint FROM dedup WHERE key = ?", (key,)
                ).fetchone()
                if row is not None and row[0] != owner:
                    conflicts.append(Conflict(key, row[0], row[1] == fingerprint))
        return conflicts

    def holder(self, key: str) -> tuple[str, str] | None:
        with self._single_read() as cur:
            row = self._exec(
                cur, "SELECT owner, fingerprint FROM dedup WHERE key = ?", (key,)
            ).fetchone()
        return None if row is None else (str(row[0]), str(row[1]))

    def decide(self, message_id: str, outcome: str, detail: str = "") -> None:
        """Remember the decision before anything is published (state ``decided``)."""
        with self._tx() as cur:
            self._exec(
                cur,
                "INSERT INTO processed VALUES (?, 'decided', ?, ?, ?) ON CONFLICT(message_id) DO UPDATE "
                "SET outcome = excluded.outcome, detail = excluded.detail, at = excluded.at "
                "WHERE processed.state <> 'done'",
                (message_id, outcome, detail, _now()),
            )

    def complete(
        self, message_id: str, outcome: str, detail: str, events: Sequence[EventRow] = ()
    ) -> None:
        """Mark a message ``done`` and record its events, atomically (after publishes confirmed)."""
        for _, status, _ in events:
            _check_status(status)
        at = _now()
        with self._tx(immediate=True) as cur:
            self._exec(
                cur,
                "INSERT INTO processed VALUES (?, 'done', ?, ?, ?) ON CONFLICT(message_id) DO UPDATE "
                "SET state = 'done', outcome = excluded.outcome, detail = excluded.detail, "
                "at = excluded.at",
                (message_id, outcome, detail, at),
            )
            cur.executemany(
                self._q("INSERT INTO events (message_id, status, at, detail) VALUES (?, ?, ?, ?)"),
                [(mid, status, at, text) for mid, status, text in events],
            )

    # --- customs responses
    def record_origin(self, origin: Origin) -> None:
        facts = dict(origin.facts)
        with self._tx() as cur:
            self._exec(
                cur,
                "INSERT INTO origins VALUES (?, ?, ?, ?, ?, ?, NULL, ?) ON CONFLICT DO NOTHING",
                (
                    origin.message_id,
                    origin.inbound_id,
                    origin.partner,
                    str(facts.get("document_type", "")),
                    str(facts.get("business_reference", "")),
                    origin.routed_at,
                    json.dumps(facts, sort_keys=True, default=str),
                ),
            )

    def origin(self, message_id: str) -> Origin | None:
        """The routed document ``message_id`` (or the first of inbound ``message_id``)."""
        with self._read() as cur:
            row = self._exec(
                cur,
                "SELECT message_id, inbound_id, partner, routed_at, facts FROM origins "
                "WHERE message_id = ? OR inbound_id = ? ORDER BY message_id LIMIT 1",
                (message_id, message_id),
            ).fetchone()
        if row is None:
            return None
        return Origin(row[0], row[1], row[2], row[3], json.loads(row[4]))

    def mark_answered(self, message_id: str, detail: str) -> bool:
        """Record the customs answer; False if it was answered already (a redelivery)."""
        at = _now()
        with self._tx(immediate=True) as cur:
            updated = self._exec(
                cur,
                "UPDATE origins SET answered_at = ? WHERE message_id = ? AND answered_at IS NULL",
                (at, message_id),
            ).rowcount
            if updated:
                self._exec(
                    cur,
                    "INSERT INTO events (message_id, status, at, detail) VALUES (?, 'answered', ?, ?)",
                    (message_id, at, detail),
                )
        return bool(updated)

    def overdue(self, older_than: dt.timedelta, *, limit: int = 1000) -> list[Overdue]:
        """Routed documents with no customs answer for longer than ``older_than``, oldest first."""
        cutoff = (dt.datetime.now(dt.UTC) - older_than).isoformat(timespec="milliseconds")
        with self._read() as cur:
            rows = self._exec(
                cur,
                "SELECT message_id, inbound_id, partner, document_type, business_reference, "
                "routed_at FROM origins WHERE answered_at IS NULL AND routed_at < ? "
                "ORDER BY routed_at LIMIT ?",
                (cutoff, limit),
            ).fetchall()
        return [Overdue(*r) for r in rows]

    # --- what the operators' console shows
    def partner_activity(self, since: str) -> list[PartnerActivity]:
        """Per partner: its last message ever, and its inbound messages (those without a
        parent) and rejections at or after ``since`` (an ISO date or time)."""
        with self._tx() as cur:
            messages = self._exec(
                cur,
                "SELECT partner, MAX(created_at), "
                "SUM(CASE WHEN created_at >= ? AND parent_id IS NULL THEN 1 ELSE 0 END) "
                "FROM messages GROUP BY partner",
                (since,),
            ).fetchall()
            rejections = dict(
                self._exec(
                    cur,
                    "SELECT m.partner, COUNT(*) FROM events e JOIN messages m "
                    "ON m.message_id = e.message_id WHERE e.status = 'rejected' AND e.at >= ? "
                    "GROUP BY m.partner",
                    (since,),
                ).fetchall()
            )
        return [
            PartnerActivity(
                str(partner), last or "", int(count or 0), int(rejections.get(partner, 0))
            )
            for partner, last, count in messages
        ]

    # --- amendments (issue #4)
    def _amendment_tables(self) -> None:
        """Create the two amendment tables once (the PostgreSQL schema may predate them)."""
        self._ensure_tables("_amendments_ready", AMENDMENT_TABLES)

    def document_versions(self, sender: str, document_key: str) -> list[DocumentVersion]:
        """Every accepted version of one document, oldest first."""
        self._amendment_tables()
        with self._read() as cur:
            rows = self._exec(
                cur,
                "SELECT sender, document_key, version, function, message_id, payload_hash, "
                "inbound_id, at FROM document_versions WHERE sender = ? AND document_key = ? "
                "ORDER BY version",
                (sender, document_key),
            ).fetchall()
        return [DocumentVersion(*r) for r in rows]

    def add_document_version(self, version: DocumentVersion) -> bool:
        """Record a version; False when another message took that version first (a race)."""
        self._amendment_tables()
        with self._tx(immediate=True) as cur:
            cur = self._exec(
                cur,
                "INSERT INTO document_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    version.sender,
                    version.document_key,
                    version.version,
                    version.function,
                    version.message_id,
                    version.payload_hash,
                    version.inbound_id,
                    version.at or _now(),
                ),
            )
            return bool(cur.rowcount == 1)

    def save_acknowledgements(
        self, sender: str, payload_hash: str, inbound_id: str, acks: Sequence[tuple[str, bytes]]
    ) -> None:
        """Keep the first answer to an interchange, to send it again for an identical resend."""
        encoded = json.dumps([[kind, base64.b64encode(data).decode()] for kind, data in acks])
        self._amendment_tables()
        with self._tx() as cur:
            self._exec(
                cur,
                "INSERT INTO saved_acknowledgements VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (sender, payload_hash, inbound_id, encoded, _now()),
            )

    def saved_acknowledgements(
        self, sender: str, payload_hash: str
    ) -> tuple[str, list[tuple[str, bytes]]] | None:
        """(first inbound id, its acknowledgements) for an interchange seen before, or None."""
        self._amendment_tables()
        with self._read() as cur:
            row = self._exec(
                cur,
                "SELECT inbound_id, acknowledgements FROM saved_acknowledgements "
                "WHERE sender = ? AND payload_hash = ?",
                (sender, payload_hash),
            ).fetchone()
        if row is None:
            return None
        return row[0], [(kind, base64.b64decode(data)) for kind, data in json.loads(row[1])]

    def withdraw_acceptance(self, sender: str, inbound_id: str) -> int:
        """Forget the versions, saved answer and dedup claims of a message never delivered.

        The pipeline records them when it accepts a message; if the worker then cannot
        deliver it (unroutable) and dead-letters it, an operator's replay must be judged
        as new, not as a resend of something customs never received. What its documents
        filed in the call registry goes too (``CallTables.withdraw_filings``, issue #17).
        Returns the rows removed.
        """
        self._amendment_tables()
        with self.unit_of_work(), self._tx(immediate=True) as cur:
            removed = self._exec(
                cur,
                "DELETE FROM document_versions WHERE sender = ? AND inbound_id = ?",
                (sender, inbound_id),
            ).rowcount
            removed += self._exec(
                cur,
                "DELETE FROM saved_acknowledgements WHERE sender = ? AND inbound_id = ?",
                (sender, inbound_id),
            ).rowcount
            # Its dedup claims (interchange reference, document keys) are released too.
            removed += self._exec(cur, "DELETE FROM dedup WHERE owner = ?", (inbound_id,)).rowcount
            removed += self.withdraw_filings(inbound_id)
        return int(removed)

    def ping(self) -> None:
        """One trivial read: raises JournalUnavailable when the journal cannot answer
        (``/readyz``, ``gateway.messaging.health``)."""
        with self._read() as cur:
            self._exec(cur, "SELECT 1", ()).fetchone()

    def checkpoint_in_background(self, every: float = 1.0) -> None:
        """Move the backend's housekeeping writes off the caller's thread (SQLite only)."""

    def close(self) -> None:  # pragma: no cover - overridden
        pass


class SqliteJournal(SqlJournal):
    """The embedded journal: one SQLite file in WAL mode, safe to share between threads."""

    def __init__(self, path: str | Path) -> None:
        self._path = str(path)
        self._database = SqliteDatabase(path, what="the journal")
        self._db = self._database.connection
        self._lock = self._database.lock
        self._checkpointer: threading.Thread | None = None
        self._stop_checkpoints = threading.Event()
        try:
            self._db.executescript(SQLITE_EVENTS + PORTABLE_SCHEMA)
        except sqlite3.OperationalError as exc:
            raise JournalUnavailable(f"the journal {path} cannot be opened: {exc}") from exc

    @contextmanager
    def _transaction(self, immediate: bool = False) -> Iterator[sqlite3.Cursor]:
        with self._database.transaction(immediate) as cur:
            yield cur

    @contextmanager
    def _single_read(self) -> Iterator[sqlite3.Cursor]:
        with self._database.read() as cur:
            yield cur

    def checkpoint_in_background(self, every: float = 1.0) -> None:
        """Checkpoint the WAL from a thread of its own, every ``every`` seconds.

        SQLite otherwise checkpoints inside the commit that grows the WAL past 1,000 pages:
        that commit copies the pages into the database file and waits for the disk
        (``fdatasync``), in the worker's decision thread, every hundred messages or so
        (issue #8: about 0.2 ms of the decision's wall time per small message). A PASSIVE
        checkpoint on a connection of its own blocks neither writers nor readers; if it
        falls behind, the WAL grows until it catches up. ``edigw run`` turns this on.
        """
        if self._path == ":memory:" or self._checkpointer is not None:
            return
        with self._lock:
            self._db.execute("PRAGMA wal_autocheckpoint=0")
        self._stop_checkpoints.clear()

        def run() -> None:
            connection = sqlite3.connect(self._path, isolation_level=None, timeout=30)
            try:
                while not self._stop_checkpoints.wait(every):
                    with contextlib.suppress(sqlite3.Error):  # busy or gone: next time
                        connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                connection.close()

        self._checkpointer = threading.Thread(
            target=run, name="edigw-journal-checkpoint", daemon=True
        )
        self._checkpointer.start()

    def close(self) -> None:
        if self._checkpointer is not None:
            self._stop_checkpoints.set()
            self._checkpointer.join(timeout=10)
            self._checkpointer = None
        with self._lock:
            self._db.close()
