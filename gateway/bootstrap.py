"""The composition root: configuration in, wired components out. Nothing else builds them.

Every command of ``edigw`` (run, submit, translate, contrl, track, dlq, audit, console, demo,
verify, keys, routes, overdue, partners, topology) takes what it needs from the :class:`App`
that :func:`bootstrap` returns. Only the root opens a journal (``gateway.storage.backends``)
and decides how the broker is reached (the ``Connector``: its URL and TLS); the rest is handed
what it uses, so a test can hand in its own journal, broker, signer, trust store or clock, as
cosmicpython's ``bootstrap`` does.

Each part is built on first use: ``edigw translate`` and ``edigw contrl`` open no journal, load
no signing key and reach no broker, and a command pays only for the modules of the parts it
uses (the pipeline, the signing key, the trust store are imported when first built, hence
the imports inside the methods below). ``bootstrap`` itself does no I/O: a configuration is
refused before anything is made.

>>> import tempfile
>>> from gateway.config import load
>>> app = bootstrap(load(env={"EDIGW_STATE_DIR": tempfile.mkdtemp(), "EDIGW_MODE": "development"}))
>>> app.names.inbound("apcs")
'partner.apcs.in'
>>> app.journal.track("nothing yet")
[]
>>> app.close()
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, TypedDict, TypeVar, Unpack, cast

from adapters.edifact.directory import DEFAULT_LOCAL, set_search_path
from gateway.config import Settings
from gateway.messaging.components import Gateway as Gateway
from gateway.messaging.naming import Names

if TYPE_CHECKING:
    # Imported where the part is built (issue #20, point 6): pika, the journal's backends and
    # their domain modules cost an offline command's start-up time it does not need.
    from gateway.messaging.broker import Connector
    from gateway.messaging.topology import Topology
    from gateway.security.signing import Signer
    from gateway.security.trust import DevPki, TrustStore
    from gateway.service.offline import OfflineTranslator
    from gateway.service.pipeline import InboundPipeline
    from gateway.service.receipts import MinistryDesk
    from gateway.storage.audit import SqlAuditTrail
    from gateway.storage.lpco_records import LpcoRecords
    from gateway.storage.records import Journal

Part = TypeVar("Part")
Clock = Callable[[], dt.datetime]


def system_clock() -> dt.datetime:
    """Now, in UTC."""
    return dt.datetime.now(dt.UTC)


class App:
    """What the commands need, built from ``settings`` on first use (a :class:`Gateway`).

    Substitutes given to :func:`bootstrap` are used as they are and left open by
    :meth:`close`: they are their caller's. What the app opened itself, it closes.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        journal: Journal | None = None,
        signer: Signer | None = None,
        broker: Connector | None = None,
        trust: TrustStore | None = None,
        audit: SqlAuditTrail | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.names = Names(settings.name_prefix)
        # The operators' views (the console's "today", an archived key's date) read it.
        self.clock = clock or system_clock
        given = {
            "journal": journal,
            "signer": signer,
            "trust": trust,
            "audit": audit,
            "broker": broker,
        }
        self._parts: dict[str, object] = {k: v for k, v in given.items() if v is not None}
        self._substitutes = frozenset(self._parts)
        self._to_close: list[Callable[[], None]] = []
        # The console builds parts from several request threads.
        self._lock = threading.RLock()

    def _part(self, name: str, build: Callable[[], Part]) -> Part:
        with self._lock:
            if name not in self._parts:
                self._parts[name] = build()
            return cast(Part, self._parts[name])

    # ------------------------------------------------------------------ the parts
    @property
    def broker(self) -> Connector:
        """How the broker is reached (its URL, TLS and the cluster's other nodes); connects
        nothing by itself."""
        from gateway.messaging.broker import Connector

        # The TLS files were checked when the settings were loaded (gateway.tls.check_tls);
        # ssl loads with the broker's parts, not with an offline command's.
        from gateway.tls import tls_from

        hosts = tuple(self.settings.config.broker.hosts)
        return self._part(
            "broker",
            lambda: Connector(
                self.settings.broker_url, tls_from(self.settings.config.broker), hosts
            ),
        )

    @property
    def topology(self) -> Topology:
        """Every exchange and queue of this configuration (nothing declared)."""
        from gateway.messaging.topology import topology_for

        return self._part("topology", lambda: topology_for(self.settings, self.names))

    @property
    def journal(self) -> Journal:
        """The journal the configuration names, opened on first use (JournalUnavailable when
        it cannot be: asked again, it tries again)."""

        def build() -> Journal:
            from gateway.storage.backends import open_journal

            journal = open_journal(self.settings.journal_backend, self.settings.journal_path)
            self._to_close.append(journal.close)
            return journal

        return self._part("journal", build)

    def journal_schema(self) -> tuple[int, int] | None:
        """(the database's version, this gateway's) of the PostgreSQL journal's schema
        (``gateway.storage.migrations``); None with SQLite, whose tables are made on first use.
        JournalUnavailable when the database cannot be reached."""
        if self.settings.journal_backend != "postgresql":
            return None
        from gateway.storage.journal_pg import schema_version
        from gateway.storage.migrations import LATEST

        return schema_version(self.settings.journal_path), LATEST

    def upgrade_journal(self) -> list[int]:
        """``edigw db upgrade``: the versions applied now ([] when up to date, or SQLite)."""
        if self.settings.journal_backend != "postgresql":
            return []
        from gateway.storage.journal_pg import upgrade_schema

        return upgrade_schema(self.settings.journal_path)

    @property
    def audit(self) -> SqlAuditTrail:
        """The operators' audit trail (in the journal's store: its file or its database)."""

        def build() -> SqlAuditTrail:
            from gateway.storage.backends import open_audit_trail

            trail = open_audit_trail(
                self.settings.journal_backend, self.settings.journal_path, self.settings.state_dir
            )
            self._to_close.append(trail.close)
            return trail

        return self._part("audit", build)

    def import_audit(self, path: Path, source: str) -> tuple[int, int]:
        """``edigw db import-audit``: append the entries of a local SQLite trail to this
        app's trail, noting ``source``; (imported, skipped as imported before)."""
        from gateway.storage.backends import read_audit_file

        return self.audit.import_entries(read_audit_file(path), source)

    @property
    def lpco_records(self) -> LpcoRecords:
        """The LPCO registry's rows: beside a SQLite journal, in a PostgreSQL journal's
        database (shared by every instance)."""

        def build() -> LpcoRecords:
            from gateway.storage.backends import open_lpco_records

            records = open_lpco_records(
                self.settings.journal_backend, self.settings.journal_path, self.settings.state_dir
            )
            self._to_close.append(records.close)
            return records

        return self._part("lpco_records", build)

    @property
    def signer(self) -> Signer:
        """The gateway's signing key, after the checks of ``[gateway] mode`` (ConfigError)."""
        from gateway.security.signing import load_signer

        return self._part("signer", lambda: load_signer(self.settings))

    @property
    def trust(self) -> TrustStore:
        """The ministries' trust anchors and CRLs (development ones made in development mode)."""
        from gateway.security.trust import load_trust

        return self._part("trust", lambda: load_trust(self.settings))

    def verifying_trust(self) -> TrustStore:
        """The trust store of ``edigw verify``: the ministries', and the gateway's own
        certificates (current and retired) too."""
        from gateway.security.trust import load_trust

        if "trust" in self._substitutes:
            return self.trust  # the one given serves both
        return self._part("verifying_trust", lambda: load_trust(self.settings, with_gateway=True))

    @property
    def desk(self) -> MinistryDesk:
        """The ministries' desk: signatures checked, LPCO lifecycle, signed receipts."""
        from gateway.service.receipts import build_desk

        return self._part(
            "desk",
            lambda: build_desk(self.settings, self.signer, self.trust, self.lpco_records),
        )

    @property
    def pipeline(self) -> InboundPipeline:
        """Decode, validate, sign; amendments and identical resends judged on the journal."""
        from gateway.service.pipeline import InboundPipeline

        def build() -> InboundPipeline:
            from gateway.service.calls import CallPolicy
            from gateway.service.travellers_desk import build_travellers_desk, signer_function
            from gateway.storage.travellers_retention import travellers_of

            pipeline = InboundPipeline(
                self.signer,
                self.settings.routes,
                self.settings.interchange_id,
                self.desk,
                journal=self.journal,
            )
            # The call registry's policy, for the pipeline and the decision service (issue
            # #17), and the travellers' desk (issue #18): built once, here.
            pipeline.calls = CallPolicy.from_config(self.settings.config.calls)
            pipeline.travellers = build_travellers_desk(
                self.settings, travellers_of(self.journal), signer_function(self.signer)
            )
            return pipeline

        return self._part("pipeline", build)

    def dev_pki(self) -> DevPki | None:
        """The ministries' development keys and anchors, made on first use; None unless the
        configuration uses development anchors (development mode, no ``[trust] dir``)."""
        from gateway.security.trust import DevPki, trust_settings

        ts = trust_settings(self.settings)
        if not ts.development:
            return None
        ministries = [p.id for p in self.settings.partners_with_role("ministry")]
        return self._part("dev_pki", lambda: DevPki.ensure(ts.state_dir, ministries, ts.directory))

    @property
    def translator(self) -> OfflineTranslator:
        """``edigw translate``: as the configuration says, without broker, journal or key."""
        from gateway.service.offline import OfflineTranslator

        return self._part("translator", lambda: OfflineTranslator(self.settings.partners))

    # ------------------------------------------------------------------ the end
    def close(self) -> None:
        """Close what the app opened (newest first); substitutes stay open. Asked for again
        afterwards, a part is built again."""
        with self._lock:
            while self._to_close:
                self._to_close.pop()()
            self._parts = {k: v for k, v in self._parts.items() if k in self._substitutes}

    def __enter__(self) -> App:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class Substitutes(TypedDict, total=False):
    """The parts a caller may hand in instead of those the configuration names."""

    journal: Journal
    signer: Signer
    broker: Connector
    trust: TrustStore
    audit: SqlAuditTrail
    clock: Clock


def generated_directory_folder(settings: Settings) -> Path:
    """Where ``edigw directories generate`` writes the tables it builds: the first folder of
    ``edifact.directory_path``, else ``<state_dir>/directories``."""
    if settings.directory_path:
        return settings.directory_path[0]
    return settings.state_dir / "directories"


def directory_search_path(settings: Settings) -> tuple[Path, ...] | None:
    """The folders of generated directory tables: ``edifact.directory_path``; else
    ``<state_dir>/directories`` when it exists (an installed wheel's tables, issue #20) before
    the checkout's ``var/directories``; else None (the checkout's, the default)."""
    if settings.directory_path:
        return settings.directory_path
    local = generated_directory_folder(settings)
    # One stat, no I/O that makes anything; only an existing folder changes the search path,
    # so that a state directory without tables keeps the tables' cache.
    if local.is_dir() and local.resolve() != DEFAULT_LOCAL.resolve():
        return (local, DEFAULT_LOCAL)
    return None


def bootstrap(settings: Settings, **substitutes: Unpack[Substitutes]) -> App:
    """The parts of a gateway for ``settings``; each substitute given replaces its part."""
    set_search_path(directory_search_path(settings))
    return App(settings, **substitutes)
