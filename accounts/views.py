import base64

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.backends import normalise_phone
from accounts.middleware import needs_second_factor


class PhoneAuthenticationForm(AuthenticationForm):
    error_messages = {
        "invalid_login": gettext_lazy("手机号或密码不正确。连续输错5次账号将被锁定15分钟。"),
        "inactive": gettext_lazy("该账号已停用，请联系学校或区教育局管理员。"),
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = _("手机号")
        self.fields["username"].widget.attrs.update({"inputmode": "tel", "autocomplete": "username", "placeholder": "13812345678"})
        self.fields["password"].label = _("密码")

    def clean_username(self):
        return normalise_phone(self.cleaned_data.get("username"))


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = PhoneAuthenticationForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        lang = form.get_user().language
        if lang in dict(settings.LANGUAGES):
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, lang, max_age=365 * 86400, samesite="Lax")
        return response


def lockout_response(request, credentials, *args, **kwargs):
    """django-axes calls this for a locked account: same page, a clear message, status 429."""
    form = PhoneAuthenticationForm(request, data=request.POST or None)
    form.is_valid()
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(
        request,
        "accounts/login.html",
        {"form": form, "locked": True, "lock_minutes": minutes},
        status=429,
    )


@require_POST
def logout_view(request):
    from django.contrib.auth import logout

    logout(request)  # flushes the server-side session: the old cookie is worthless afterwards
    messages.success(request, _("您已安全退出。"))
    return redirect("accounts:login")


def _safe_next(request, default="home"):
    nxt = request.GET.get("next") or request.POST.get("next")
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return nxt
    return None if default is None else redirect(default).url


@login_required
def two_factor(request):
    """Set up (first time) or verify a TOTP authenticator for admin roles."""
    user = request.user
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    setup = device is None
    if setup:
        device = TOTPDevice.objects.filter(user=user, confirmed=False).first() or TOTPDevice.objects.create(
            user=user, name=_("身份验证器"), confirmed=False
        )
    error = ""
    if request.method == "POST":
        token = "".join(ch for ch in request.POST.get("token", "") if ch.isdigit())
        if device.verify_token(token):
            if setup:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
            otp_login(request, device)
            messages.success(request, _("双因素认证已通过。"))
            return HttpResponseRedirect(_safe_next(request))
        error = _("验证码不正确或已过期，请输入身份验证器上当前显示的6位数字。")
    context = {"setup": setup, "error": error, "next": request.GET.get("next", ""), "required": needs_second_factor(user)}
    if setup:
        svg = segno.make(device.config_url, error="m").svg_data_uri(scale=4)
        context.update({"qr_data_uri": svg, "secret": base64.b32encode(device.bin_key).decode("ascii")})
    return render(request, "accounts/two_factor.html", context)


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = "/"

    def form_valid(self, form):
        messages.success(self.request, _("密码已修改。"))
        return super().form_valid(form)


@login_required
@require_POST
def care_mode_toggle(request):
    """关怀模式: large text and high contrast, remembered on the account (and in a cookie for the log-in page)."""
    user = request.user
    user.care_mode = not user.care_mode
    user.save(update_fields=["care_mode"])
    response = HttpResponseRedirect(_safe_next(request))
    response.set_cookie("care_mode", "1" if user.care_mode else "0", max_age=365 * 86400, samesite="Lax")
    return response


@login_required
@require_POST
def language_set(request):
    lang = request.POST.get("language", "")
    if lang not in dict(settings.LANGUAGES):
        messages.error(request, _("不支持该语言。"))
        return redirect("home")
    request.user.language = lang
    request.user.save(update_fields=["language"])
    response = HttpResponseRedirect(_safe_next(request))
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, lang, max_age=365 * 86400, samesite="Lax")
    return response


def activate(request):
    """Guardian self-activation (phone + SMS code + class invitation code + verifying the child)."""
    return render(request, "accounts/activate.html", {})
