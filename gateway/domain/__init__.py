"""The domain layer (docs/architecture.md)."""
