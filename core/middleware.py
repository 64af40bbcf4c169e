from csp.middleware import CSPMiddleware as _CSPMiddleware
from django.conf import settings
from django.http import FileResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers

from core.scoping import strict_scope

NO_STORE = "max-age=0, no-cache, no-store, must-revalidate, private"
EXPIRED = "Thu, 01 Jan 1970 00:00:00 GMT"


class NoStoreMiddleware:
    """Pages for signed-in users hold personal data: never let a shared device or proxy cache them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and "Cache-Control" not in response:
            # What add_never_cache_headers() + "no-store, private" amount to, as constants: this runs on
            # every signed-in response, API calls included.
            response["Cache-Control"] = NO_STORE
            response.headers.setdefault("Expires", EXPIRED)
        return response


class LanguageMiddleware:
    """Chinese for everyone unless the user chose another language in the user menu (a cookie).

    Django's LocaleMiddleware would follow the browser's Accept-Language, so a phone set to English
    would get English unasked; the product is Chinese-first and English is a choice.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        lang = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        translation.activate(lang)
        request.LANGUAGE_CODE = lang
        response = self.get_response(request)
        patch_vary_headers(response, ("Cookie",))
        response.headers.setdefault("Content-Language", lang)
        return response


class PageOnly:
    """Mixin for middleware that serves pages only: requests under settings.API_PATH_PREFIX skip it.

    The token API (/api/v1/) authenticates every call with a bearer token and never uses a session, flash
    messages, the admin second factor, password rotation or htmx, so it does not pay for them on each of a
    district's quarter-million notice openings (docs/decisions/0005). The classes in core/page_middleware.py
    keep Django's and the libraries' own classes as their bases, so the chain, its order and the system
    checks are those of settings.MIDDLEWARE. Sync only, like the project's WSGI set-up."""

    sync_capable = True
    async_capable = False

    def __call__(self, request):
        if is_api(request):
            return self.get_response(request)
        return super().__call__(request)


def is_api(request) -> bool:
    """A call of the token API: it skips the page middleware (PageOnly and the project's own)."""
    return request.path_info.startswith(settings.API_PATH_PREFIX)


# What a JSON answer of the API needs from a browser: nothing loaded, never framed (OWASP's REST advice).
API_CSP = "default-src 'none'; frame-ancestors 'none'"


class CSPMiddleware(_CSPMiddleware):
    """django-csp for pages (and the API's HTML docs page); the API's JSON gets the constant API_CSP.

    django-csp rebuilds the policy from settings on every response (27 µs); a JSON answer needs no nonce
    and no per-view policy, and is better served by the strictest one."""

    def process_request(self, request):
        if not is_api(request):
            super().process_request(request)

    def process_response(self, request, response):
        if is_api(request) and response.get("Content-Type", "").startswith("application/json"):
            response.headers.setdefault("Content-Security-Policy", API_CSP)
            return response
        return super().process_response(request, response)


class StrictScopeMiddleware:
    """Every request, page or API call, runs under core.scoping.strict_scope(): a scoped model's queryset
    evaluated without .visible_to(user) or .system(reason=...) raises ScopeError (docs/decisions/0013).
    First in settings.MIDDLEWARE and not PageOnly, so it covers the token API too; a streamed answer
    (exports) is produced after the middleware returns, so its iterator is wrapped to stay strict."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with strict_scope():
            response = self.get_response(request)
        if response.streaming and not isinstance(response, FileResponse):
            response.streaming_content = _strict_iter(response.streaming_content)
        return response


def _strict_iter(chunks):
    it = iter(chunks)
    while True:
        with strict_scope():
            try:
                chunk = next(it)
            except StopIteration:
                return
        yield chunk
