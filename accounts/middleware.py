"""Session limits, the admin second factor, password rotation and the user's language."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.roles import holds_admin_role, holds_staff_session_role
from core.middleware import is_api
from core.scoping import get_scope

# Paths a user must reach while being asked for a second factor or a new password.
_EXEMPT_PREFIXES = ("/accounts/", "/static/", "/i18n/")


def _is_staff_session(user) -> bool:
    return user.is_superuser or holds_staff_session_role(get_scope(user))


class SessionLimitsMiddleware:
    """Idle timeout (30 min for staff) and a maximum lifetime, kept in the server-side session."""

    TOUCH_EVERY = 60  # seconds; avoids a session write on every request

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_api(request):  # token calls have no session (core.middleware.PageOnly)
            return self.get_response(request)
        user = request.user
        if user.is_authenticated:
            now = int(time.time())
            session = request.session
            started = session.setdefault("gy_started", now)
            seen = session.get("gy_seen", now)
            staff = _is_staff_session(user)
            idle = (settings.GONGYU_STAFF_IDLE_MINUTES if staff else settings.GONGYU_GUARDIAN_IDLE_MINUTES) * 60
            max_age = (settings.GONGYU_SESSION_MAX_HOURS if staff else settings.GONGYU_GUARDIAN_SESSION_MAX_HOURS) * 3600
            if now - seen > idle or now - started > max_age:
                logout(request)
                messages.info(request, _("您已长时间未操作，为保护信息安全已自动退出，请重新登录。"))
                return redirect(f"{reverse('accounts:login')}?next={request.path}")
            if now - seen >= self.TOUCH_EVERY or "gy_seen" not in session:
                session["gy_seen"] = now
        return self.get_response(request)


def needs_second_factor(user) -> bool:
    if not settings.GONGYU_ADMIN_2FA or not user.is_authenticated:
        return False
    return user.is_superuser or holds_admin_role(get_scope(user))


class SecondFactorMiddleware:
    """District and school admins must verify a TOTP device before any page (when GONGYU_ADMIN_2FA)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_api(request) or request.path.startswith(_EXEMPT_PREFIXES):
            return self.get_response(request)
        user = request.user
        if needs_second_factor(user) and not user.is_verified():
            return redirect(f"{reverse('accounts:two_factor')}?next={request.path}")
        return self.get_response(request)


def password_expired(user) -> bool:
    changed = user.password_changed_at
    max_age = settings.GONGYU_PASSWORD_MAX_AGE_DAYS * 86400
    return changed is None or (timezone.now() - changed).total_seconds() > max_age


class PasswordRotationMiddleware:
    """Under the MLPS policy, staff whose password is older than the limit must change it first."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_api(request) or request.path.startswith(_EXEMPT_PREFIXES):
            return self.get_response(request)
        user = request.user
        if settings.GONGYU_PASSWORD_POLICY == "mlps" and user.is_authenticated and _is_staff_session(user):
            if password_expired(user):
                messages.warning(request, _("您的密码已超过有效期，请先修改密码。"))
                return redirect("accounts:password_change")
        return self.get_response(request)
