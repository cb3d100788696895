"""The service layer (docs/architecture.md)."""
