"""Gunicorn settings every app server shares; gunicorn reads this file when started from the project folder.

Command-line options (bind address, workers, threads: docs/deploy.md) still apply on top of it."""

import gc

# Each worker listens on a socket of its own (SO_REUSEPORT) and the kernel spreads new connections over
# them. On one shared socket, whichever worker wakes first takes the connection: with keep-alive clients
# (a proxy's pool, a load generator) one worker was seen holding 11 of 12 connections, serialising their
# requests on one core behind its interpreter lock while the others idled.
reuse_port = True


def post_worker_init(worker):
    # The application is loaded: move everything it made at start-up (settings, URLconf, models, ~200,000
    # objects) out of the garbage collector's reach. A full collection then walks only what requests made,
    # instead of stalling a request for tens of milliseconds every so often (it doubled the p99 of the
    # sender's statistics page).
    gc.collect()
    gc.freeze()
