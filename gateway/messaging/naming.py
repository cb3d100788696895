"""Names of every exchange and queue, in one place (as dramatiq does for queue families).

A *queue family* is a work queue with its retry (delay) queue and its dead-letter queue:

>>> names = Names()
>>> names.inbound("apcs"), names.retry("partner.apcs.in"), names.dead_letter("partner.apcs.in")
('partner.apcs.in', 'partner.apcs.in.retry', 'partner.apcs.in.dlq')

``prefix`` lets a test run (or a second gateway on the same vhost) keep its own names.

Each partner also has a virtual host of its own (issue #14, finding 8b), its *trust domain*:
the same inbound exchange and queue and outbound queue names, in a vhost where nothing else is:

>>> names.partner_vhost("apcs"), Names("t1.").partner_vhost("apcs")
('partner.apcs', 't1.partner.apcs')
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Names:
    prefix: str = ""

    def _p(self, name: str) -> str:
        return f"{self.prefix}{name}"

    # --- partner-facing queues (a contract: partners and operators script against them)
    def inbound(self, partner: str) -> str:
        """What a partner sends. Partners publish to the exchange of the same name."""
        return self._p(f"partner.{partner}.in")

    def outbound(self, partner: str) -> str:
        """Acknowledgements and responses for that partner."""
        return self._p(f"partner.{partner}.out")

    def partner_vhost(self, partner: str) -> str:
        """The partner's own virtual host (unless ``[partners.<id>] vhost`` names another):
        it holds only that partner's inbound exchange and queue and its outbound queue."""
        return self._p(f"partner.{partner}")

    # --- customs-facing queues
    @property
    def customs_core(self) -> str:
        return self._p("customs.core")

    @property
    def customs_legacy(self) -> str:
        return self._p("customs.legacy")

    @property
    def customs_responses(self) -> str:
        return self._p("customs.responses")

    def customs(self, destination: str) -> str:
        """Queue for a customs destination named in a route ("core" or "legacy")."""
        return self._p(f"customs.{destination}")

    # --- exchanges
    @property
    def customs_exchange(self) -> str:
        return self._p("edigw.customs")

    @property
    def outbound_exchange(self) -> str:
        return self._p("edigw.partners.out")

    @property
    def dead_letter_exchange(self) -> str:
        return self._p("edigw.dlx")

    @property
    def retry_exchange(self) -> str:
        return self._p("edigw.retry")

    # --- queue families
    @staticmethod
    def dead_letter(queue: str) -> str:
        return f"{queue}.dlq"

    @staticmethod
    def retry(queue: str) -> str:
        return f"{queue}.retry"

    def is_dead_letter(self, queue: str) -> bool:
        return queue.startswith(self.prefix) and queue.endswith(".dlq")
