"""A module that exists only for tests/test_modules.py: added to INSTALLED_APPS by a settings override,
it must appear everywhere the platform discovers modules, with no central file edited."""
