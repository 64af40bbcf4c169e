"""A sending worker for the emergency-resume scenario: `python -m bench.emergency_worker <source>`.

Runs messaging's send loop for one source until no row of it is pending or claimed, as the worker's
minute tick would keep doing in production (a dead worker's claims come back after their heartbeat goes
stale). SMS go to the bench gateway (bench.scenarios.messaging.GatewayBackend), set by the parent."""

from __future__ import annotations

import sys
import time

from bench.__main__ import _setup_django


def main(source: str) -> int:
    _setup_django()
    from messaging import sending  # cycle: Django must be set up before models load
    from messaging.models import Delivery, DeliveryStatus  # cycle: as above

    while True:
        sending.send_due(source=source)
        if not Delivery.objects.filter(source=source, status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING]).exists():
            return 0
        time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
