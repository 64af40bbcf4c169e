"""Every scenario module is imported here; importing registers its scenarios."""

from bench.scenarios import activities, audit, messaging, notices, roster  # noqa: F401
