"""The security layer (docs/architecture.md)."""
