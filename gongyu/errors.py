"""The 400 handler: Chinese pages instead of Django's English "Bad Request (400)", and 413 for a request
whose body is over the size limits (DATA_UPLOAD_MAX_MEMORY_SIZE, DATA_UPLOAD_MAX_NUMBER_FIELDS/FILES)."""

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import requires_csrf_token

from core.middleware import is_api

TOO_BIG = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)


@requires_csrf_token  # the page's own forms (log-out, language) need the token, as on Django's error pages
def bad_request(request, exception=None):
    too_big = isinstance(exception, TOO_BIG)
    status = 413 if too_big else 400
    if is_api(request):
        detail = _("提交的内容过大，请减少后重试。") if too_big else _("请求无效，请检查后重试。")
        return JsonResponse({"detail": detail}, status=status)
    return render(request, "413.html" if too_big else "400.html", status=status)
