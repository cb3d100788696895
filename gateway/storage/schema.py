"""The journal's tables, in SQL that SQLite and PostgreSQL both take where they can.

Apart from the journal's code (``gateway.storage.journal``, ``journal_pg``) so that both
backends read them from one place without importing each other.
"""

from __future__ import annotations

from gateway.storage.sent_interchanges import SCHEMA as SENT_INTERCHANGES_SCHEMA

SQLITE_EVENTS = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL,
    status TEXT NOT NULL,
    at TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_message ON events(message_id);
"""
# Messages, references, idempotency and customs-answer tables, in SQL that SQLite and
# PostgreSQL both take (only the events table differs: its generated key).
PORTABLE_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    message_id TEXT PRIMARY KEY,
    parent_id TEXT,
    correlation_id TEXT NOT NULL,
    partner TEXT NOT NULL,
    type TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_parent ON messages(parent_id);
CREATE INDEX IF NOT EXISTS messages_correlation ON messages(correlation_id);
CREATE TABLE IF NOT EXISTS refs (
    reference TEXT NOT NULL,
    message_id TEXT NOT NULL,
    PRIMARY KEY (reference, message_id)
);
CREATE TABLE IF NOT EXISTS processed (
    message_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dedup (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS origins (
    message_id TEXT PRIMARY KEY,
    inbound_id TEXT NOT NULL,
    partner TEXT NOT NULL,
    document_type TEXT NOT NULL,
    business_reference TEXT NOT NULL,
    routed_at TEXT NOT NULL,
    answered_at TEXT,
    facts TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS origins_unanswered ON origins(answered_at, routed_at);
"""
# The gateway's own interchange references, one counter per partner (issue #16).
PORTABLE_SCHEMA += SENT_INTERCHANGES_SCHEMA
# Amendments (issue #4): the accepted versions of each partner document, and the first answer
# to each interchange (sent again, byte for byte, when the very same bytes come again).
# Portable SQL, created on first use by either backend.
AMENDMENT_TABLES = (
    """CREATE TABLE IF NOT EXISTS document_versions (
    sender TEXT NOT NULL,
    document_key TEXT NOT NULL,
    version INTEGER NOT NULL,
    function TEXT NOT NULL,
    message_id TEXT NOT NULL,
    payload_hash TEXT NOT NULL,
    inbound_id TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (sender, document_key, version)
)""",
    """CREATE TABLE IF NOT EXISTS saved_acknowledgements (
    sender TEXT NOT NULL,
    payload_hash TEXT NOT NULL,
    inbound_id TEXT NOT NULL,
    acknowledgements TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (sender, payload_hash)
)""",
)
# PostgreSQL's events table (its generated key) and the operators' audit tables.
POSTGRES_TABLES = """
CREATE TABLE IF NOT EXISTS events (
    id BIGSERIAL PRIMARY KEY,
    message_id TEXT NOT NULL,
    status TEXT NOT NULL,
    at TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_message ON events(message_id);
CREATE TABLE IF NOT EXISTS audit (
    id BIGSERIAL PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_messages (
    audit_id BIGINT NOT NULL,
    message_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (audit_id, message_id)
);
CREATE INDEX IF NOT EXISTS audit_messages_message ON audit_messages(message_id);
"""
