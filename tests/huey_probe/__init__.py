"""A Django app only the consumers of tests/test_huey_scheduler.py load (settings tests.huey_probe.settings)."""
