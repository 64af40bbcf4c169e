"""Password policy: "standard" (ASVS: >= 8 characters, not common) or "mlps" (GB/T 22239 assessors:
three of four character classes, and a periodic change enforced by PasswordRotationMiddleware)."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

CLASSES = [re.compile(r"[a-z]"), re.compile(r"[A-Z]"), re.compile(r"[0-9]"), re.compile(r"[^a-zA-Z0-9]")]


class PolicyValidator:
    def validate(self, password, user=None):
        if settings.GONGYU_PASSWORD_POLICY != "mlps":
            return
        if sum(1 for c in CLASSES if c.search(password)) < 3:
            raise ValidationError(
                _("密码须包含大写字母、小写字母、数字、符号中的至少三类。"), code="password_too_simple"
            )

    def get_help_text(self):
        if settings.GONGYU_PASSWORD_POLICY == "mlps":
            return _("至少8位，包含大写字母、小写字母、数字、符号中的至少三类，并定期更换。")
        return _("至少8位，不能是常见密码或纯数字。")
