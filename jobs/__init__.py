"""The one outbox of background work (ARCHITECTURE.md, docs/decisions/0007-one-jobs-outbox.md)."""
