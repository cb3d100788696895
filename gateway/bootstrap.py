"""The composition root: configuration in, wired components out. Nothing else builds them.

>>> import tempfile
>>> from gateway.config import load
>>> app = bootstrap(load(env={"EDIGW_STATE_DIR": tempfile.mkdtemp(), "EDIGW_MODE": "development"}))
>>> app.names.inbound("apcs")
'partner.apcs.in'
"""

from __future__ import annotations

from adapters.edifact.directory import set_search_path
from gateway.config import Settings
from gateway.messaging.components import Gateway as Gateway
from gateway.messaging.naming import Names
from gateway.messaging.topology import topology_for
from gateway.security import signing
from gateway.security.signing import Signer
from gateway.service.calls import CallPolicy
from gateway.service.pipeline import InboundPipeline
from gateway.service.receipts import build_desk
from gateway.service.travellers_desk import build_travellers_desk, signer_function
from gateway.storage.journal import open_journal
from gateway.storage.travellers_retention import travellers_of


def load_signer(settings: Settings) -> Signer:
    """The gateway's signing key, loaded once; generated on first run in development mode only."""
    return signing.load_signer(settings)


def bootstrap(settings: Settings) -> Gateway:
    # Folders of generated directory tables (edifact.directory_path); empty: the default.
    set_search_path(settings.directory_path or None)
    names = Names(settings.name_prefix)
    signer = load_signer(settings)
    gw = Gateway(
        settings=settings,
        names=names,
        journal=open_journal(settings.journal_backend, settings.journal_path),
        signer=signer,
        pipeline=InboundPipeline(
            signer, settings.routes, settings.interchange_id, build_desk(settings, signer)
        ),
        topology=topology_for(settings, names),
    )
    # Amendments and identical resends are judged against the journal (issue #4).
    gw.pipeline.journal = gw.journal
    # The call registry's policy, for the pipeline and the decision service (issue #17), and
    # the travellers' desk (issue #18): built once, here.
    gw.pipeline.calls = CallPolicy.from_config(settings.config.calls)
    gw.pipeline.travellers = build_travellers_desk(
        settings, travellers_of(gw.journal), signer_function(signer)
    )
    return gw
