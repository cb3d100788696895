"""``edigw_travellers_overdue_vehicles``: vehicles still in after their TPD's due date (issue #18).

Read from the journal at each scrape (an indexed count), so it is right whichever instance
or command changed the TPDs; every instance sharing a journal reports the same number, so
dashboards and alerts take ``max``. Served by ``edigw run`` with the other metrics
(:func:`gateway.messaging.metrics.start` calls :func:`watch_overdue_vehicles`).

>>> set_overdue_vehicles_source(lambda: 2)
>>> from gateway.messaging.metrics import _value
>>> _value("edigw_travellers_overdue_vehicles")
2.0
>>> set_overdue_vehicles_source(None)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from gateway.logs import get_logger
from gateway.messaging.metrics_registry import swap_collector
from gateway.storage.records import TravellersJournal

log = get_logger()
NAME = "edigw_travellers_overdue_vehicles"


class OverdueVehiclesCollector:
    """The gauge, asking ``source`` at each scrape; a failing source skips the sample."""

    def __init__(self, source: Callable[[], int]) -> None:
        self.source = source

    def collect(self) -> Any:
        from prometheus_client.core import GaugeMetricFamily

        try:
            count = self.source()
        except Exception:  # a journal that is down must not break the scrape
            log.warning("overdue vehicles unreadable", exc_info=True)
            return
        yield GaugeMetricFamily(
            NAME,
            "Vehicles under a TPD still in the country after their due date.",
            value=float(count),
        )


_collector: OverdueVehiclesCollector | None = None


def set_overdue_vehicles_source(source: Callable[[], int] | None) -> None:
    """Serve the gauge from ``source`` (None: stop serving it)."""
    global _collector
    new = None if source is None else OverdueVehiclesCollector(source)
    _collector = swap_collector(_collector, new)


def watch_overdue_vehicles(
    journal: TravellersJournal, today: Callable[[], dt.date] | None = None
) -> None:
    """Count the overdue vehicles of ``journal`` (the gateway's, from the composition root)
    at each scrape, as of ``today()`` (default: today in Algiers)."""
    from gateway.service.travellers import today_in_algiers

    day = today or today_in_algiers
    set_overdue_vehicles_source(lambda: journal.count_overdue_tpds(day()))
