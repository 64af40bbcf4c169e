"""Gunicorn settings every app server shares; gunicorn reads this file when started from the project folder.

Command-line options (bind address, workers, threads: docs/deploy.md) still apply on top of it."""

import gc
import sys
from pathlib import Path

from gunicorn.glogging import Logger

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the product's packages, for the filter below
from core.logging import RedactFilter  # noqa: E402

# Each worker listens on a socket of its own (SO_REUSEPORT) and the kernel spreads new connections over
# them. On one shared socket, whichever worker wakes first takes the connection: with keep-alive clients
# (a proxy's pool, a load generator) one worker was seen holding 11 of 12 connections, serialising their
# requests on one core behind its interpreter lock while the others idled.
reuse_port = True


class RedactingLogger(Logger):
    """gunicorn's own logs pass the product's redaction filter: the access log's request line and Referer
    carry search terms (/org/5/roster/?q=<学籍号>, the admin's ?q=<phone>) and a 404 path may hold a
    number; the error log names the URL of a failed request. Set on the loggers, not on handlers, so that
    it holds for every handler gunicorn or a log configuration adds (file, stdout, syslog)."""

    redact = RedactFilter()

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            log.addFilter(self.redact)  # once only: addFilter skips a filter already there


logger_class = RedactingLogger


def post_worker_init(worker):
    # The application is loaded: move everything it made at start-up (settings, URLconf, models, ~200,000
    # objects) out of the garbage collector's reach. A full collection then walks only what requests made,
    # instead of stalling a request for tens of milliseconds every so often (it doubled the p99 of the
    # sender's statistics page).
    gc.collect()
    gc.freeze()
