"""One composition root (issue #15): only ``gateway.bootstrap`` opens a journal or decides how
the broker is reached; its parts are built on first use and can be substituted."""

from __future__ import annotations

import ast
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.bootstrap import bootstrap
from gateway.config import ConfigError, load
from gateway.interfaces.console import Backend
from gateway.messaging.broker import Connector
from gateway.storage.journal import SqliteJournal

ROOT = Path(__file__).resolve().parents[2]

# Who may call what: a call resolved to one of these names (through the module's imports)
# anywhere else in gateway/ or adapters/ is a part built outside the root.
ALLOWED: dict[str, set[str]] = {
    # the backend choice, made by the root only
    "gateway.storage.backends.open_journal": {"gateway/bootstrap.py"},
    "gateway.storage.backends.open_audit_trail": {"gateway/bootstrap.py"},
    "gateway.storage.journal.SqliteJournal": {"gateway/storage/backends.py"},
    "gateway.storage.journal_pg.PostgresJournal": {"gateway/storage/backends.py"},
    "gateway.storage.audit.AuditTrail": {"gateway/storage/backends.py"},
    "gateway.storage.audit.SqlAuditTrail": {"gateway/storage/backends.py"},
    "gateway.storage.backends.open_lpco_records": {"gateway/bootstrap.py"},
    "gateway.storage.lpco_records.LpcoRecords": {"gateway/storage/backends.py"},
    "gateway.storage.lpco_records.SqliteLpcoRecords": {"gateway/storage/backends.py"},
    "gateway.storage.journal_pg.PgDatabase": {
        "gateway/storage/backends.py",
        "gateway/storage/journal_pg.py",
    },
    "gateway.storage.sql_database.SqliteDatabase": {
        "gateway/storage/journal.py",
        "gateway/storage/audit.py",
        "gateway/storage/lpco_records.py",
    },
    # how the broker is reached: the root builds the Connector, which alone connects
    "gateway.messaging.broker.Connector": {"gateway/bootstrap.py"},
    "gateway.messaging.broker.connect": {"gateway/messaging/broker.py"},
    "pika.BlockingConnection": {"gateway/messaging/broker.py"},
    "aio_pika.connect": {"gateway/messaging/broker.py"},
    "aio_pika.connect_robust": {"gateway/messaging/broker.py"},
    # the databases behind the journal, the audit trail and the LPCO registry (the desk's)
    "psycopg.connect": {"gateway/storage/journal_pg.py"},
    "sqlite3.connect": {"gateway/storage/journal.py", "gateway/storage/sql_database.py"},
}


def _module_name(path: str) -> str:
    return path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def _aliases(tree: ast.Module, module: str) -> dict[str, str]:
    """Local name -> what it stands for: imports anywhere in the module, and its own names."""
    names = {
        node.name: f"{module}.{node.name}"
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.ClassDef)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def violations(path: str, source: str) -> Iterator[str]:
    """``path:line name`` for each call of a guarded name where ``path`` may not make it."""
    tree = ast.parse(source)
    aliases = _aliases(tree, _module_name(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        dotted = _dotted(node.func)
        if dotted is None:
            continue
        head, _, rest = dotted.partition(".")
        resolved = aliases.get(head, head) + (f".{rest}" if rest else "")
        allowed = ALLOWED.get(resolved)
        if allowed is not None and path not in allowed:
            yield f"{path}:{node.lineno} {resolved}"


def _sources() -> Iterator[tuple[str, str]]:
    for folder in ("gateway", "adapters"):
        for file in sorted((ROOT / folder).rglob("*.py")):
            yield file.relative_to(ROOT).as_posix(), file.read_text("utf-8")


def test_the_checker_sees_a_journal_or_connection_opened_outside_the_root() -> None:
    source = (
        "import pika\n"
        "from gateway.messaging import broker\n"
        "from gateway.storage.backends import open_journal as journal_of\n"
        "def f(settings):\n"
        "    broker.connect(settings.broker_url)\n"
        "    pika.BlockingConnection(None)\n"
        "    return journal_of('sqlite', 'x')\n"
    )
    assert list(violations("gateway/interfaces/somewhere.py", source)) == [
        "gateway/interfaces/somewhere.py:5 gateway.messaging.broker.connect",
        "gateway/interfaces/somewhere.py:6 pika.BlockingConnection",
        "gateway/interfaces/somewhere.py:7 gateway.storage.backends.open_journal",
    ]
    assert list(violations("gateway/bootstrap.py", source)) == [
        "gateway/bootstrap.py:5 gateway.messaging.broker.connect",
        "gateway/bootstrap.py:6 pika.BlockingConnection",
    ]


def test_nothing_outside_the_root_opens_a_journal_or_a_broker_connection() -> None:
    found = [v for path, source in _sources() for v in violations(path, source)]
    assert found == []
    # ... and the root does use what it is allowed to (the table above is not stale).
    used = {
        v.split(" ")[1]
        for v in violations("elsewhere.py", (ROOT / "gateway/bootstrap.py").read_text())
    }
    assert {"gateway.storage.backends.open_journal", "gateway.messaging.broker.Connector"} <= used


def test_the_journal_backends_import_no_cycle() -> None:
    """journal_pg builds on journal; only the factory (gateway.storage.backends) knows both."""
    imports: dict[str, set[str]] = {}
    for file in (ROOT / "gateway" / "storage").glob("*.py"):
        module = f"gateway.storage.{file.stem}"
        tree = ast.parse(file.read_text())
        imports[module] = {
            n.module
            for n in ast.walk(tree)  # function-local imports included
            if isinstance(n, ast.ImportFrom) and n.module and n.module.startswith("gateway.storage")
        }
    assert "gateway.storage.journal_pg" not in imports["gateway.storage.journal"]

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in imports.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    assert [m for m in imports if reaches(m, m, {m})] == []


# ---------------------------------------------------------------- built on first use
def _production(tmp_path: Path) -> dict[str, str]:
    return {"EDIGW_STATE_DIR": str(tmp_path / "state"), "EDIGW_MODE": "production"}


def test_bootstrap_builds_nothing_until_asked(tmp_path: Path) -> None:
    """Production without a key: translating works, signing is refused, and until the journal
    is asked for, nothing is written."""
    app = bootstrap(load(env=_production(tmp_path)))
    data = (ROOT / "samples" / "apcs" / "01-cuscar-msc-algiers.edi").read_bytes()
    result = app.translator.translate(data, "apcs")
    assert result.rejection is None and len(result.documents) == 1
    assert app.topology.queues  # pure: no broker
    assert not (tmp_path / "state").exists()
    with pytest.raises(ConfigError, match=r"keys\.signing_key"):
        app.signer  # noqa: B018 (the property is the call)
    app.journal.record_message("m1", type="CUSCAR", partner="apcs", correlation_id="m1")
    assert (tmp_path / "state" / "journal.sqlite3").exists()
    app.close()
    # Closed, then asked again: opened again, never a closed journal handed out.
    assert [h.message_id for h in app.journal.track("m1")] == ["m1"]
    app.close()


def test_substitutes_are_used_and_left_open(tmp_path: Path) -> None:
    journal = SqliteJournal(":memory:")
    elsewhere = Connector("amqp://someone:secret@broker.example:5673/%2F")
    app = bootstrap(load(env=_production(tmp_path)), journal=journal, broker=elsewhere)
    assert app.journal is journal and app.broker is elsewhere and app.broker.user == "someone"
    app.journal.record_message("m1", type="CUSCAR", partner="apcs", correlation_id="m1")
    app.close()
    assert [h.message_id for h in journal.track("m1")] == ["m1"]  # still open: the caller's
    journal.close()


def test_the_console_reads_the_journal_and_the_clock_it_is_given(tmp_path: Path) -> None:
    journal = SqliteJournal(":memory:")
    for mid in ("m1", "m2"):
        journal.record_message(mid, type="CUSCAR", partner="apcs", correlation_id=mid)
        journal.record_event(mid, "received")
    journal.record_event("m2", "rejected", "bad count")
    settings = load(env=_production(tmp_path))
    tomorrow = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    for clock, today in ((lambda: dt.datetime.now(dt.UTC), 2), (lambda: tomorrow, 0)):
        backend = Backend(bootstrap(settings, journal=journal, clock=clock))
        [apcs] = [row for row in backend.partner_status() if row["partner"] == "apcs"]
        assert (apcs["today"], apcs["errors"]) == (today, today // 2)
        assert apcs["last"]  # the last message ever, whatever the day
        assert sum(n for _t, n in backend.partner_traffic("apcs")) == today
    journal.close()
