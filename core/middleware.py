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
        from django.conf import settings
        from django.utils import translation
        from django.utils.cache import patch_vary_headers

        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        lang = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        translation.activate(lang)
        request.LANGUAGE_CODE = lang
        response = self.get_response(request)
        patch_vary_headers(response, ("Cookie",))
        response.headers.setdefault("Content-Language", lang)
        return response
