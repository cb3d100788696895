"""The messaging layer (docs/architecture.md)."""
