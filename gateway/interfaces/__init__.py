"""The interfaces layer (docs/architecture.md)."""
