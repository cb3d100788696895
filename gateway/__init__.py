"""port-edi-gateway: the customs single window's message-broker EDI gateway."""

__version__ = "0.1.0"
