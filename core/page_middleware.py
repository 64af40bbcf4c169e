"""Django's and the libraries' page middleware, skipped by the token API (core.middleware.PageOnly).

Subclasses rather than wrappers: Django's checks find them in settings.MIDDLEWARE as what they are
(the admin's checks look for subclasses), and each keeps its own hooks."""

from django.contrib.auth.middleware import AuthenticationMiddleware as _AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware as _MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware as _SessionMiddleware
from django_htmx.middleware import HtmxMiddleware as _HtmxMiddleware
from django_otp.middleware import OTPMiddleware as _OTPMiddleware

from core.middleware import PageOnly


class SessionMiddleware(PageOnly, _SessionMiddleware):
    pass


class AuthenticationMiddleware(PageOnly, _AuthenticationMiddleware):
    pass


class MessageMiddleware(PageOnly, _MessageMiddleware):
    pass


class OTPMiddleware(PageOnly, _OTPMiddleware):
    pass


class HtmxMiddleware(PageOnly, _HtmxMiddleware):
    pass
