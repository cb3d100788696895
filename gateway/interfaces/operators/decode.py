"""What the gateway makes of a dead letter's body today (``gateway.service.pipeline.translate``)."""

from __future__ import annotations

from typing import Any

from gateway.interfaces.operators.deadletters import DeadLetter


def decoded_view(dl: DeadLetter) -> dict[str, Any]:
    """What the gateway makes of the message body today (gateway.service.pipeline.translate)."""
    from adapters.common import DecodeContext
    from gateway.domain.canonical_xml import to_bytes
    from gateway.service.pipeline import translate

    try:
        result = translate(dl.body, DecodeContext(sender=dl.partner or "operator"))
    except Exception as exc:  # an operator's view must never crash on a message
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}", "documents": []}
    if result.rejection is not None:
        return {
            "ok": False,
            "format": result.format,
            "message_types": result.message_types,
            "reason": result.rejection.reason,
            "sentence": result.rejection.sentence,
            "problems": [p.line() for p in result.rejection.problems],
            "documents": [],
        }
    return {
        "ok": True,
        "format": result.format,
        "message_types": result.message_types,
        "documents": [to_bytes(e).decode("utf-8") for e in result.elements],
        "business_references": [d.header.business_reference for d in result.documents],
    }
