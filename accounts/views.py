import base64

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from accounts.backends import normalise_phone
from accounts.forms import ActivationForm, PhoneForm
from accounts.middleware import needs_second_factor, password_expired
from accounts.models import RoleAssignment
from accounts.roles import STAFF_ROLES
from audit.middleware import client_ip
from core.crypto import mask_phone
from core.middleware import is_api
from core.scoping import fetch_for
from people.models import OPTIONAL_PURPOSES, Consent, ConsentPurpose, Guardian, Student
from people.perms import FAMILY_VIEW
from people.services import consent_give, consent_withdraw


class PhoneAuthenticationForm(AuthenticationForm):
    error_messages = {
        "invalid_login": gettext_lazy("手机号或密码不正确。连续输错5次账号将被锁定15分钟。"),
        "inactive": gettext_lazy("该账号已停用，请联系学校或区教育局管理员。"),
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = _("手机号")
        self.fields["username"].widget.attrs.update({"inputmode": "tel", "autocomplete": "username", "placeholder": "13812345678"})
        self.fields["username"].error_messages["required"] = _("请输入手机号。")
        self.fields["password"].label = _("密码")
        self.fields["password"].error_messages["required"] = _("请输入密码。")

    def clean_username(self):
        return normalise_phone(self.cleaned_data.get("username"))

    def clean(self):
        try:
            return super().clean()
        except ValidationError:
            # Set by PhoneBackend only when the password was right: a wrong one learns nothing more.
            disabled = getattr(self.request, "disabled_account", None)
            if disabled is None:
                raise
            raise ValidationError(disabled_message(disabled), code="inactive") from None


def disabled_message(user) -> str:
    """Whom a disabled account asks: guardians their child's teacher or school, staff their administrator."""
    if RoleAssignment.objects.system(reason="a disabled account is told whom to ask").filter(user=user, role__in=STAFF_ROLES).exists() or user.is_staff:
        return _("该账号已停用。如需继续使用，请联系上级管理员（学校或区教育局管理员）。")
    return _("该账号已停用。如需继续使用，请联系孩子的班主任或学校管理员。")


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = PhoneAuthenticationForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["admin_2fa"] = settings.GONGYU_ADMIN_2FA
        return context

    def form_valid(self, form):
        response = super().form_valid(form)
        lang = form.get_user().language
        if lang in dict(settings.LANGUAGES):
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, lang, max_age=365 * 86400, samesite="Lax")
        return response


def lockout_response(request, original_response=None, credentials=None, *args, **kwargs):
    """django-axes calls this for a locked account: a clear message with status 429 (JSON for the API)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = _("登录失败次数过多，账号已锁定，请%(minutes)d分钟后再试。") % {"minutes": minutes}
    if is_api(request):
        return JsonResponse({"detail": message}, status=429)
    # Unbound: validating the form would authenticate again and count (and extend) the lockout.
    form = PhoneAuthenticationForm(request, initial={"username": request.POST.get("username", "")})
    return render(
        request,
        "accounts/login.html",
        {"form": form, "locked": True, "lock_minutes": minutes, "admin_2fa": settings.GONGYU_ADMIN_2FA},
        status=429,
    )


@require_POST
def logout_view(request):
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

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        for field in form.fields.values():
            field.widget.attrs.update({"class": "form-control form-control-lg"})
        return form

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["expired"] = settings.GONGYU_PASSWORD_POLICY == "mlps" and password_expired(self.request.user)
        return context

    def form_valid(self, form):
        messages.success(self.request, _("密码已修改。"))
        return super().form_valid(form)


@login_required
@require_POST
def care_mode_toggle(request):
    """关怀模式: large text and high contrast, remembered on the account (and in a cookie for the log-in page)."""
    user = request.user
    # care_mode=1/0 sets it (the offer on the family page: "turn it on" / "not now"); without it, a toggle.
    wanted = request.POST.get("care_mode")
    user.care_mode = (wanted == "1") if wanted in ("0", "1") else not user.care_mode
    user.care_mode_chosen_at = timezone.now()
    user.save(update_fields=["care_mode", "care_mode_chosen_at"])
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


def _activation_context(form, **extra):
    return {"form": form, "password_help": ActivationForm.password_help(), "ttl": settings.GONGYU_SMS_CODE_TTL_MINUTES, **extra}


@require_http_methods(["GET", "POST"])
def activate(request):
    """Guardian self-activation: phone + SMS code, then the class invitation code and the child's data."""
    if request.method == "GET":
        return render(request, "accounts/activate.html", _activation_context(ActivationForm()))
    ip = client_ip(request)
    if request.POST.get("action") == "send_code":
        # Re-show what was typed (no errors for fields not filled yet); passwords are never echoed.
        keep = {k: v for k, v in request.POST.items() if k in ActivationForm.base_fields and not k.startswith("password")}
        form = ActivationForm(initial=keep)
        phone_form = PhoneForm(request.POST)
        extra = {}
        if not phone_form.is_valid():
            extra["phone_error"] = phone_form.errors["phone"][0]
        else:
            phone = phone_form.cleaned_data["phone"]
            try:
                code = services.sms_code_send(phone=phone, ip=ip)
            except services.ActivationError as exc:
                extra["phone_error"] = exc.message
            else:
                extra["code_sent_to"] = mask_phone(phone)
                if settings.GONGYU_DEMO:
                    extra["demo_code"] = code
        return render(request, "accounts/activate.html", _activation_context(form, **extra))

    form = ActivationForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        req = services.ActivationRequest(
            phone=data["phone"],
            sms_code=data["sms_code"],
            invite_code=data["invite_code"],
            child_name=data["child_name"],
            student_no_last4=data["student_no_last4"],
            relation=data["relation"],
            password=data["password"],
            password_confirm=data["password_confirm"],
            agree_rules=data["agree_rules"],
            photo_publicity=data["photo_publicity"],
            growth_sharing=data["growth_sharing"],
        )
        try:
            result = services.guardian_activate(req=req, ip=ip)
        except services.ActivationError as exc:
            form.add_error(None, exc.message)
        else:
            login(request, result.user, backend="accounts.backends.PhoneBackend")
            names = "、".join(s.name for s in result.students)
            messages.success(request, _("激活成功！您现在可以查看 %(names)s 的信息。") % {"names": names})
            return redirect("people:family")
    return render(request, "accounts/activate.html", _activation_context(form))


def _own_guardian_for(user, student):
    return Guardian.objects.visible_to(user).filter(user=user, guardianships__student=student).first()


@login_required
@require_http_methods(["GET", "POST"])
def privacy(request):
    """A guardian's consents: what they agreed to, under which rules version, when; optional ones can be
    withdrawn and given again here. Withdrawing never blocks the basic pages."""
    user = request.user
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "withdraw":
                consent = fetch_for(user, Consent.objects.filter(guardian__user=user), request.POST.get("consent"))
                consent_withdraw(actor=user, consent=consent)
                messages.success(request, _("已撤回：%(purpose)s。") % {"purpose": consent.get_purpose_display()})
            elif action == "give":
                purpose = request.POST.get("purpose", "")
                if purpose not in OPTIONAL_PURPOSES:
                    raise Http404
                student = fetch_for(user, Student, request.POST.get("student"), perm=FAMILY_VIEW)
                guardian = _own_guardian_for(user, student)
                if guardian is None:
                    raise Http404
                consent_give(guardian=guardian, purpose=purpose, rules_version=settings.GONGYU_RULES_VERSION, student=student)
                messages.success(request, _("已同意：%(purpose)s。") % {"purpose": ConsentPurpose(purpose).label})
            else:
                messages.error(request, _("无法识别的操作，请刷新页面后重试。"))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect("accounts:privacy")

    consents = list(
        Consent.objects.visible_to(user).filter(guardian__user=user).select_related("student").order_by("-given_at", "-id")
    )
    children = list(Student.objects.visible_to(user).filter(guardianships__guardian__user=user).distinct().order_by("name"))
    latest: dict[tuple, Consent] = {}
    for c in consents:  # newest first: the first row per (purpose, student) is the current state
        latest.setdefault((c.purpose, c.student_id), c)
    rows = []
    platform = latest.get((ConsentPurpose.PLATFORM, None))
    # The two optional purposes asked at activation, per child; others (psych screening, care files,
    # referrals) appear once a module has asked for them.
    keys = [(p, child.pk) for child in children for p in (ConsentPurpose.PHOTO_PUBLICITY, ConsentPurpose.GROWTH_SHARING)]
    keys += [k for k in latest if k[0] != ConsentPurpose.PLATFORM and k not in keys]
    by_id = {child.pk: child for child in children}
    for purpose, student_id in keys:
        current = latest.get((purpose, student_id))
        rows.append(
            {
                "purpose": ConsentPurpose(purpose).label,
                "purpose_code": purpose,
                "student": by_id.get(student_id),
                "student_id": student_id,
                "current": current,
                "in_force": current is not None and current.withdrawn_at is None,
            }
        )
    return render(
        request,
        "accounts/privacy.html",
        {
            "is_guardian": bool(children) or bool(consents),
            "platform": platform,
            "rows": rows,
            "history": consents,
            "rules_version": settings.GONGYU_RULES_VERSION,
        },
    )
