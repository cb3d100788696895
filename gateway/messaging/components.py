"""What the composition root (``gateway.bootstrap``) hands the worker: the built parts.

Defined here, below the composition root, so that the worker can name its type without
importing what builds it (docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.config import Settings
from gateway.messaging.naming import Names
from gateway.messaging.topology import Topology
from gateway.security.signing import Signer
from gateway.service.pipeline import InboundPipeline
from gateway.storage.journal import Journal


@dataclass(slots=True)
class Gateway:
    """The parts one gateway process runs with, built once by ``gateway.bootstrap``."""

    settings: Settings
    names: Names
    journal: Journal
    signer: Signer
    pipeline: InboundPipeline
    topology: Topology
