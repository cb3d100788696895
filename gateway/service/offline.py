"""``edigw translate``: a file read as the configuration says, without a broker, a journal or a
signing key.

A configured partner's file is read with what ``edigw run`` decides from that partner's
configuration before and while decoding (issue #15): the formats it may send
(``formats.decide``: anything else is refused before it is decoded), the EDIFACT message types
(``message_types``), its business-rule severities (``rules``) and its UN/EDIFACT directory
validation (``directory_validation``). A JSON partner's file (the travellers' portal, a border
post) is read as the travellers' desk reads it (``gateway.service.travellers_offline``). The
directory tables are the configuration's
(``edifact.directory_path``, set by the composition root). A sender the configuration does not
know is read with the defaults, as any partner's file once was.

Offline means no history and no trust store: amendments are not judged against earlier
versions (that needs the journal), and a ministry's signature is not verified (``edigw verify``
does), which a ``SIGNATURE_NOT_CHECKED`` warning says.

>>> from gateway.config import load
>>> translator = OfflineTranslator(load(env={}).partners)
>>> translator.translate(b"<Unknown/>", "someone").rejection.reason  # read as any XML
'UNSUPPORTED_DOCUMENT'

(``tests/unit/test_translate_config.py`` shows a partner's configuration deciding.)
"""

from __future__ import annotations

from collections.abc import Mapping

from adapters.common import DecodeContext
from gateway.config import Partner
from gateway.service import formats, pipeline
from gateway.service.pipeline import Translation, refused_translation, translate


class OfflineTranslator:
    """Translates a file as the partner's configuration says (built by ``gateway.bootstrap``)."""

    def __init__(self, partners: Mapping[str, Partner]) -> None:
        self.partners = partners

    def translate(self, data: bytes, sender: str) -> Translation:
        """``data`` decoded and validated as ``sender``'s (a partner id, or any name)."""
        context = DecodeContext(sender=sender)
        partner = self.partners.get(sender)
        if partner is None:
            return translate(data, context)
        decision = formats.decide(data, partner)
        if decision.format is None:
            return refused_translation(data, decision)
        if decision.format == "json":  # the travellers' portal or a border post
            from gateway.service.travellers_offline import translate_json_offline

            return translate_json_offline(data, context, partner.role)
        return translate(
            data,
            context,
            dict(partner.rules),
            # The pipeline's policy as it reads it (tests and benchmarks may replace it).
            policy=pipeline.READ_POLICY.replace(directory_validation=partner.directory_validation),
            fmt=decision.format,
            message_types=partner.message_types,
            vocabularies=partner.vocabularies,
        )
