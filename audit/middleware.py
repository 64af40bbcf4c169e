from axes.helpers import get_client_ip_address

from audit.services import _current, actor_for


def client_ip(request) -> str | None:
    # The proxy count is configured for axes; reuse its resolution so both agree on the address.
    return get_client_ip_address(request) or None


class AuditContextMiddleware:
    """Makes the requesting user and address the actor of every audit row written during the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _current.set(actor_for(getattr(request, "user", None), ip=client_ip(request)))
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)
