"""What the composition root (``gateway.bootstrap``) hands the worker: the built parts.

Defined here, below the composition root, so that the worker and the metrics can name its
type without importing what builds it (docs/architecture.md). The root's ``App`` is one; a
test may hand in any object with these parts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from gateway.config import Settings
    from gateway.messaging.broker import Connector
    from gateway.messaging.naming import Names
    from gateway.messaging.topology import Topology
    from gateway.security.signing import Signer
    from gateway.service.pipeline import InboundPipeline
    from gateway.storage.audit import SqlAuditTrail
    from gateway.storage.records import Journal


class Gateway(Protocol):
    """The parts one gateway process runs with, built by ``gateway.bootstrap`` on first use."""

    @property
    def settings(self) -> Settings: ...

    @property
    def names(self) -> Names: ...

    @property
    def topology(self) -> Topology: ...

    @property
    def broker(self) -> Connector: ...

    @property
    def journal(self) -> Journal: ...

    @property
    def signer(self) -> Signer: ...

    @property
    def pipeline(self) -> InboundPipeline: ...

    @property
    def audit(self) -> SqlAuditTrail: ...
