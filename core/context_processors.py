from django.conf import settings


def gongyu(request):
    user = getattr(request, "user", None)
    care_mode = bool(user and user.is_authenticated and user.care_mode) or request.COOKIES.get("care_mode") == "1"
    return {"GONGYU_DEMO": settings.GONGYU_DEMO, "care_mode": care_mode}
