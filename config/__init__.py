"""Default configuration shipped with the gateway (TOML)."""
