"""Showing a refused operation's reason to the user, the same way on every page."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def flash_validation_error(request, exc: ValidationError) -> None:
    messages.error(request, exc.messages[0] if exc.messages else _("操作未成功，请检查后重试。"))
