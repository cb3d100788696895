"""``edigw travellers overdue | sailing | forget`` (issue #18): output, exit codes, audit.

The journal of a development state directory, filled through the travellers' service.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.config import load
from gateway.messaging.metrics import _value
from gateway.messaging.metrics_travellers import set_overdue_vehicles_source, watch_overdue_vehicles
from gateway.service.travellers import TravellersService
from gateway.service.travellers_desk import travellers_service
from gateway.storage.audit import AuditTrail
from gateway.storage.journal import SqliteJournal
from tests.travellers_data import border, one_of_each_group, tpd, us_vin, vin
from tests.unit.test_trust_cli import edigw


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "EDIGW_STATE_DIR": str(tmp_path / "state"),
        "EDIGW_MODE": "development",
        "EDIGW_OPERATOR": "amina",
        # forget also looks for the travellers' dead letters: in queues of this test's own
        # (none exist), never in the ones another engineer's gateway uses on this broker.
        "EDIGW_NAME_PREFIX": f"t{uuid.uuid4().hex[:8]}.",
    }


@pytest.fixture
def service(env: dict[str, str]) -> Iterator[TravellersService]:
    settings = load(env=env)
    journal = SqliteJournal(settings.journal_path)
    yield travellers_service(settings, journal)
    journal.close()


def test_overdue_lists_the_vehicles_past_their_date(
    env: dict[str, str], service: TravellersService
) -> None:
    assert edigw(env, "travellers", "overdue")[0] == 1  # nothing overdue: nothing matched
    service.request_tpd(tpd("TPD-F", status="foreign_national", vehicle_vin=us_vin(7)), "in-1")
    service.border_event(border("entry", tpd_ref="TPD-F"), "in-2")
    code, out, err = edigw(env, "travellers", "overdue", "--on", "2026-10-18")
    assert code == 0 and "TPD-F" in out and "3 day(s) over" in out and "1 vehicle(s)" in err
    code, out, _ = edigw(env, "travellers", "overdue", "--on", "2026-10-18", "--json")
    assert json.loads(out) == {
        "tpd": "TPD-F",
        "vin": us_vin(7),
        "registration": "GH-123-JK",
        "registration_country": "FR",
        "entered_on": "2026-07-15",
        "due_on": "2026-10-15",
        "days_over": 3,
        "extensions": 0,
    }
    assert "Benaïssa" not in out  # no name: `edigw track TPD-F` has the rest
    assert edigw(env, "travellers", "overdue", "--on", "18/10/2026")[0] == 2


def test_the_metric_counts_the_overdue_vehicles(
    env: dict[str, str], service: TravellersService
) -> None:
    day = dt.date(2026, 10, 18)
    watch_overdue_vehicles(service.journal, today=lambda: day)
    try:
        assert _value("edigw_travellers_overdue_vehicles") == 0
        service.request_tpd(tpd("TPD-F", status="foreign_national", vehicle_vin=us_vin(7)), "i1")
        service.border_event(border("entry", tpd_ref="TPD-F"), "i2")
        assert _value("edigw_travellers_overdue_vehicles") == 1  # read at each scrape
        day = dt.date(2026, 10, 15)  # the due date itself
        assert _value("edigw_travellers_overdue_vehicles") == 0
    finally:
        set_overdue_vehicles_source(None)


def test_sailing_prints_the_list_exceptions_first(
    env: dict[str, str], service: TravellersService
) -> None:
    assert edigw(env, "travellers", "sailing", "Tariq Ibn Ziyad", "2026-07-14")[0] == 1
    one_of_each_group(service)
    code, out, _ = edigw(env, "travellers", "sailing", "M/V TARIQ IBN ZIYAD", "2026-07-14")
    assert code == 0
    assert out.index("TO SEE (1)") < out.index("MISSING (1)") < out.index("READY (1)")
    assert "PLATE_MISMATCH" in out and "TPD-1 (requested)" in out
    code, out, _ = edigw(env, "travellers", "sailing", "Tariq Ibn Ziyad", "2026-07-14", "--json")
    listed = json.loads(out)
    assert listed["groups"] == {"to_see": 1, "missing": 1, "ready": 1}
    assert [v["group"] for v in listed["vehicles"]] == ["to_see", "missing", "ready"]
    assert edigw(env, "travellers", "sailing", "Tariq Ibn Ziyad", "2026-07-15")[0] == 1


def test_forget_erases_past_retention_and_is_audited(
    env: dict[str, str], service: TravellersService
) -> None:
    assert edigw(env, "travellers", "forget")[0] == 2  # neither --document nor --expired
    service.request_tpd(tpd("TPD-OLD", day=dt.date(2025, 1, 1)), "t1")
    service.request_tpd(tpd("TPD-NEW", vehicle_vin=vin(2), passport="P2"), "t2")
    code, out, _ = edigw(
        env, "travellers", "forget", "--expired", "--dry-run", "--on", "2026-07-20"
    )
    assert code == 0 and "1 tpds" in out and "would erase" in out
    assert service.journal.tpd("TPD-OLD") is not None
    code, out, _ = edigw(
        env, "travellers", "forget", "--document", "197845612", "--on", "2026-07-20", "--json"
    )
    assert code == 0 and json.loads(out)["tpds"] == 1
    assert service.journal.tpd("TPD-OLD") is None and service.journal.tpd("TPD-NEW") is not None
    trail = AuditTrail(load(env=env).journal_path)
    [entry] = trail.entries(action="travellers-forget")
    trail.close()
    assert entry.actor == "amina" and entry.data["tpds"] == 1
    assert entry.data["holder"] == service.pseudonym("197845612")
    assert "197845612" not in json.dumps(entry.to_json())  # the trail outlives the erasure
    for dry_run in ([], ["--dry-run"], ["--json"]):
        code, out, err = edigw(
            env, "travellers", "forget", "--expired", "--on", "2026-07-20", *dry_run
        )
        assert (code, out, err.strip().splitlines()[-1]) == (1, "", "nothing past retention")
