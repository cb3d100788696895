"""A decision service for unit tests: the gateway's decision without a broker (issue #15)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from gateway.config import Settings
from gateway.messaging.naming import Names
from gateway.security.signing import Signer
from gateway.service.decision import DecisionService
from gateway.service.pipeline import InboundPipeline
from gateway.storage.journal import Journal
from gateway.storage.spool import Spool


def decision_service(
    settings: Settings,
    journal: Journal,
    signer: Signer,
    spool: Path,
    names: Names,
    queue: str,
    partner_users: Mapping[str, str] | None = None,
) -> DecisionService:
    """The service deciding ``queue``'s messages as ``edigw run`` would, on ``journal``."""
    return DecisionService(
        settings=settings,
        names=names,
        journal=journal,
        pipeline=InboundPipeline(signer, settings.routes, settings.interchange_id, journal=journal),
        spool=Spool(spool),
        origins={queue: (queue, "")},
        partner_users=dict(partner_users or {}),
    )
