"""A peak day at one port (issue #17): the call registry's reconciliation and ``calls show``
against pydifact merely parsing the call's COARRI.

Usage::

    .venv/bin/python bench/bench_calls.py                     # SQLite and PostgreSQL
    .venv/bin/python bench/bench_calls.py --backend sqlite --repeat 5

The day at Algiers: 20 calls, 3 manifests each (60), 15,000 bills, 30,000 containers
declared for discharge (two per bill), and for each call the terminal's COARRI, discharge
complete, 99 % of the containers discharged (the rest short-landed), a few with another seal
or mass. The largest call has 5,000 containers; its COARRI is EDIFACT (D95B, the profile
``adapters/coarri.py`` reads), decoded by our adapter and filed as ``edigw run`` files it;
the other calls' reports are filed directly. Everything is kept in one journal: a SQLite file,
then a PostgreSQL schema of its own (``127.0.0.1:5432``, dropped afterwards).

For the 5,000-container call, in the same process, CPU time (best of ``--repeat``):

* **pydifact**: parsing that call's COARRI text, nothing else (the baseline);
* **reconcile**: ``call_checks.reconcile``, what a discharge report that says "complete" and
  the after-hours timer run: the declared containers and the discharged ones read from the
  journal, and compared;
* **show**: ``call_view.view``, what ``edigw calls show`` builds (the call, its manifests,
  bills, documents, movements, dangerous goods, the reconciliation), and its JSON.

The issue's budgets: reconcile <= 1x pydifact, show <= 0.1x. Ratios are printed, nothing is
asserted. CPU time is this process's alone (a PostgreSQL server's work is not in it), so the
wall-clock times and their ratios are printed beside it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import logging
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters import coarri
from gateway.domain.calls import CallKey, ContainerMovement, TerminalOperationsReport, VesselCall
from gateway.domain.model import (
    CargoManifest,
    Consignment,
    Conveyance,
    GoodsItem,
    Header,
    Seal,
    TransportEquipment,
)
from gateway.domain.rules import container_check_digit
from gateway.logs import configure
from gateway.service import call_checks, call_view, calls
from gateway.service.calls import CallPolicy
from gateway.storage.backends import open_journal
from gateway.storage.journal import Journal

PORT = "DZALG"
CALLS = 20
MANIFESTS_PER_CALL = 3
BILLS = 15_000
CONTAINERS = 30_000
BIG = 5_000  # containers of the largest call
ARRIVAL = dt.datetime(2026, 12, 7, 5, 0, tzinfo=dt.UTC)
POLICY = CallPolicy()
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def imo_of(i: int) -> str:
    """A 7-digit IMO number with its check digit (the 7th: first six weighted 7..2, mod 10)."""
    six = f"{940000 + i:06d}"
    return six + str(sum(int(d) * (7 - k) for k, d in enumerate(six)) % 10)


def container_of(call: int, n: int) -> str:
    owner_serial = f"CMAU{call:02d}{n:04d}"
    return owner_serial + str(container_check_digit(owner_serial + "0"))


def sizes() -> list[int]:
    """Containers per call: the largest first, the rest shared out, 30,000 in all."""
    rest = CONTAINERS - BIG
    each, extra = divmod(rest, CALLS - 1)
    return [BIG] + [each + (1 if i < extra else 0) for i in range(CALLS - 1)]


def header(document_type: str, reference: str) -> Header:
    return Header.new(sender="apcs", document_type=document_type, business_reference=reference)


def manifests_of(call: int, key: CallKey, containers: list[str]) -> Iterator[CargoManifest]:
    """The call's manifests: its containers in bills of two, shared among three manifests."""
    per = -(-len(containers) // MANIFESTS_PER_CALL)
    for m in range(MANIFESTS_PER_CALL):
        mine = containers[m * per : (m + 1) * per]
        number = f"MAN-{PORT}-{call:02d}-{m}"
        bills = [mine[i : i + 2] for i in range(0, len(mine), 2)]
        yield CargoManifest(
            header("CargoManifest", number),
            number,
            Conveyance(imo_number=key.imo_number, voyage_number=key.voyage_number),
            port_of_call=PORT,
            arrival_time=ARRIVAL,
            equipment=[
                TransportEquipment(
                    c, seals=[Seal(f"SL{c[4:10]}")], verified_gross_mass_kg=Decimal(12000)
                )
                for c in mine
            ],
            consignments=[
                Consignment(
                    b + 1,
                    f"BL{call:02d}{m}{b:05d}",
                    place_of_discharge=PORT,
                    goods_items=[GoodsItem(1, equipment_references=list(pair))],
                )
                for b, pair in enumerate(bills)
            ],
        )


def discharged(containers: list[str]) -> list[str]:
    """99 % discharged: every hundredth container is short-landed."""
    return [c for n, c in enumerate(containers) if n % 100 != 99]


def coarri_text(call: int, key: CallKey, containers: list[str]) -> str:
    """The terminal's COARRI for the call: discharge complete, one EQD group per container."""
    segs = [
        "UNH+1+COARRI:D:95B:UN",
        f"BGM+44+DIS-{PORT}-{call:02d}+9",
        f"TDT+20+{key.voyage_number}+1+13+CMA:172:20+++{key.imo_number}:146:11:CMA CGM {call}:MT",
        f"LOC+11+{PORT}:139:6+DPWD:TER:ZZZ",
        f"DTM+178:{ARRIVAL:%Y%m%d%H%M}:203",
        f"DTM+206:{ARRIVAL + dt.timedelta(hours=20):%Y%m%d%H%M}:203",
        "NAD+CF+CMA:172:20",
    ]
    for n, c in enumerate(discharged(containers)):
        seal = f"SL{c[4:10]}" if n % 250 else "SLX00000"  # a few with another seal
        mass = 12000 if n % 333 else 14000  # ... or another mass
        segs += [
            f"EQD+CN+{c}+22G1:102:5++3+5",
            f"RFF+BM:BL{call:02d}0{n:05d}",
            f"DTM+203:{ARRIVAL + dt.timedelta(minutes=n // 10):%Y%m%d%H%M}:203",
            f"LOC+147+{n % 100:02d}{n % 20:02d}{n % 90:03d}::5",
            "LOC+9+FRMRS:139:6",
            f"MEA+AAE+G+KGM:{mass}",
            f"SEL+{seal}+CA",
        ]
    segs.append(f"CNT+16:{len(discharged(containers))}")
    body = "'\n".join(segs) + "'\n"
    count = len(segs) + 1
    return (
        "UNA:+.? '\n"
        f"UNB+UNOC:3+DPWD:ZZZ+CUSTOMS:ZZZ+261207:2300+DIS{call:02d}'\n"
        f"{body}UNT+{count}+1'\nUNZ+1+DIS{call:02d}'\n"
    )


def report_of(call: int, key: CallKey, containers: list[str]) -> TerminalOperationsReport:
    """The same report as a canonical document (the other calls: filed without decoding)."""
    return TerminalOperationsReport(
        header("TerminalOperationsReport", f"DIS-{PORT}-{call:02d}"),
        f"DIS-{PORT}-{call:02d}",
        key,
        "discharge",
        complete=True,
        movements=[
            ContainerMovement(c, "discharge", seals=(f"SL{c[4:10]}",), gross_mass_kg=Decimal(12000))
            for c in discharged(containers)
        ],
    )


def populate(journal: Journal) -> tuple[CallKey, str]:
    """The peak day filed in ``journal``; the largest call and its COARRI text."""
    big_key, big_text = CallKey("", "", ""), ""
    for call, size in enumerate(sizes()):
        key = CallKey(imo_of(call), f"0MA{call:02d}N1MA", PORT)
        containers = [container_of(call, n) for n in range(size)]
        vessel = VesselCall(
            header("VesselCall", f"CALL-{PORT}-{call:02d}"),
            f"CALL-{PORT}-{call:02d}",
            Conveyance(
                imo_number=key.imo_number, name=f"CMA CGM {call}", voyage_number=key.voyage_number
            ),
            PORT,
            eta=ARRIVAL,
            ata=ARRIVAL,
        )
        calls.file(journal, POLICY, vessel, f"in-call-{call}", now=ARRIVAL)
        for m in manifests_of(call, key, containers):
            calls.file(journal, POLICY, m, f"in-{m.document_number}", now=ARRIVAL)
        if call == 0:
            big_key, big_text = key, coarri_text(call, key, containers)
            [report] = coarri.decode(big_text.encode())
            report.header.sender = "terminal"
        else:
            report = report_of(call, key, containers)
        calls.file(journal, POLICY, report, f"in-dis-{call}", now=ARRIVAL)
    return big_key, big_text


def best_of(repeat: int, fn: Callable[[], object]) -> tuple[float, float]:
    """Shortest CPU time and shortest wall time of ``repeat`` calls."""
    cpu = wall = float("inf")
    for _ in range(repeat):
        gc.collect()
        w0, t0 = time.perf_counter(), time.process_time()
        fn()
        cpu = min(cpu, time.process_time() - t0)
        wall = min(wall, time.perf_counter() - w0)
    return cpu, wall


def pydifact_parse(text: str) -> int:
    from pydifact.segmentcollection import Interchange as PydifactInterchange

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return len(list(PydifactInterchange.from_str(text).segments))


def show(journal: Journal, key: CallKey) -> int:
    record = journal.call(key)
    assert record is not None
    return len(json.dumps(call_view.view(journal, POLICY, record).to_json()))


def measure(name: str, journal: Journal, repeat: int) -> None:
    t0 = time.perf_counter()
    key, text = populate(journal)
    filed = time.perf_counter() - t0
    reconciliation = call_checks.reconcile(journal, POLICY.weight_tolerance_percent, key)
    theirs = best_of(repeat, lambda: pydifact_parse(text))
    ours = best_of(
        repeat, lambda: call_checks.reconcile(journal, POLICY.weight_tolerance_percent, key)
    )
    shown = best_of(repeat, lambda: show(journal, key))
    print(
        f"{name}: the day filed in {filed:.1f} s; call {key}: {reconciliation.declared} "
        f"declared, {reconciliation.discharged} discharged, "
        f"{len(reconciliation.discrepancies)} discrepancies; COARRI {len(text) / 1e6:.2f} MB"
    )
    print(f"  {'':<12} {'cpu s':>8} {'wall s':>8} {'cpu/pydifact':>13} {'wall/pydifact':>14}")
    for label, (cpu, wall) in (("pydifact", theirs), ("reconcile", ours), ("calls show", shown)):
        print(
            f"  {label:<12} {cpu:>8.3f} {wall:>8.3f} {cpu / theirs[0]:>13.2f} "
            f"{wall / theirs[1]:>14.2f}"
        )


@contextmanager
def pg_journal() -> Iterator[Journal]:
    """A PostgreSQL journal in a schema of its own, dropped afterwards."""
    import psycopg

    schema = f"edigw_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    journal = open_journal("postgresql", f"{PG_ADMIN}?options=-csearch_path%3D{schema}")
    try:
        yield journal
    finally:
        journal.close()
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    configure("console", logging.WARNING)
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            journal = open_journal("sqlite", str(Path(tmp) / "journal.sqlite3"))
            try:
                measure("SQLite", journal, args.repeat)
            finally:
                journal.close()
    if args.backend in ("postgresql", "both"):
        with pg_journal() as journal:
            measure("PostgreSQL", journal, args.repeat)


if __name__ == "__main__":
    main()
