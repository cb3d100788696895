"""The registry every metric of the gateway is served from (``edigw run``'s ``/metrics``).

Its own module so that the metric families kept elsewhere (``metrics_travellers``) register
with it without importing ``metrics``, which starts them.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, ProcessCollector

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)


def swap_collector(old: Any, new: Any) -> Any:
    """Stop serving collector ``old`` and serve ``new`` instead (either may be None)."""
    for collector, act in ((old, REGISTRY.unregister), (new, REGISTRY.register)):
        if collector is not None:
            act(collector)
    return new
