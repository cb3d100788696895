"""The one error a configuration is refused with (``configuration refused: KEY: REASON``).

Its own module so that the configuration's helpers (``gateway.tls``) raise it without
importing the configuration they are part of.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration value the gateway refuses, with its key."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason
