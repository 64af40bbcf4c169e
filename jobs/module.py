"""The jobs app on the module contract (core.modules): a platform app with no pages, cards or permissions
of its own (operators read the outbox in the ops admin and with `manage.py jobs_status`)."""

from core.modules import Module

MODULE = Module(label="jobs")
