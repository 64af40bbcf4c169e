import functools

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import authenticate
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from ninja import Router, Schema, Status
from ninja.security import HttpBearer

from accounts.backends import normalise_phone
from accounts.middleware import needs_second_factor
from accounts.models import ApiToken
from accounts.roles import Role
from accounts.tokens import token_user
from audit.middleware import client_ip
from audit.services import actor_for, record
from core.crypto import mask_phone
from core.scoping import get_scope
from org.models import OrgUnit

router = Router(tags=["账号"])


class TokenAuth(HttpBearer):
    """The API's bearer token: an unexpired token of an active user (accounts.tokens.token_user).

    TokenAuth(in_statement=True) is for an operation whose one database statement checks the token itself
    (opening a notice, the API's busiest call: under load the token's own round trip costs as much as the
    rest of it). On PostgreSQL authenticate() then only takes the token's digest (request.token_digest);
    the operation must run a statement built on tokens.token_statement(), call signed_in() with its user,
    and raise ninja's AuthenticationError when there is none. Elsewhere it checks the token as usual.
    tests/test_notices_api.py tries that operation with a wrong, an expired and a disabled user's token.
    One class either way, so the OpenAPI document keeps a single security scheme."""

    def __init__(self, *, in_statement: bool = False):
        super().__init__()
        self.in_statement = in_statement

    def authenticate(self, request, token):
        if self.in_statement and self.defers_check():
            request.token_digest = ApiToken.hash_key(token)
            return PENDING_TOKEN
        return signed_in(request, token_user(token, timezone.now()))

    @staticmethod
    def defers_check() -> bool:
        return connection.vendor == "postgresql"


# What TokenAuth(in_statement=True) answers before the endpoint's statement has checked the token: the
# request is not signed in yet. Only signed_in() makes it so; in_statement_guard answers 401 for a route
# that returns without having called it (it fails closed, docs/decisions/0014).
PENDING_TOKEN = "pending-token-check"


def signed_in(request, user):
    """The request now acts as this token's user (None: it does not, and ninja answers 401)."""
    if user is None:
        return None
    request.user = user
    request.auth = user
    return user


def in_statement_guard(run):
    """A view decorator for every API operation (NinjaAPI.add_decorator(..., mode="view")): a route whose
    TokenAuth left the token to its own statement but that never called signed_in() is refused, whatever
    it returned, so forgetting the check cannot serve an unauthenticated caller."""

    @functools.wraps(run)
    def guarded(request, *args, **kwargs):
        response = run(request, *args, **kwargs)
        if getattr(request, "auth", None) == PENDING_TOKEN:
            return JsonResponse({"detail": "Unauthorized"}, status=401)
        return response

    return guarded


class TokenIn(Schema):
    phone: str
    password: str
    device_name: str = ""
    otp: str = ""  # 6-digit authenticator code; required for district and school admins where 2FA is on


class TokenOut(Schema):
    token: str
    expires_at: str


class ErrorOut(Schema):
    detail: str


@router.post(
    "/token",
    auth=None,
    response={200: TokenOut, 401: ErrorOut, 429: ErrorOut},
    summary="用手机号和密码换取令牌",
)
def token_create(request, payload: TokenIn):
    phone = normalise_phone(payload.phone)
    # Same lockout as the web log-in: the attempt counts against the account and account + address.
    credentials = {"username": phone}
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    locked = f"登录失败次数过多，账号已锁定，请{minutes}分钟后再试。"
    if AxesProxyHandler.is_locked(request, credentials):
        return Status(429, {"detail": locked})
    user = authenticate(request, username=phone, password=payload.password)
    if user is None:
        if AxesProxyHandler.is_locked(request, credentials):
            return Status(429, {"detail": locked})
        return Status(401, {"detail": "手机号或密码不正确。"})
    if needs_second_factor(user):
        # A token must not be a way around the admins' second factor.
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            return Status(401, {"detail": "管理员账号须先在网页端设置身份验证器（双因素认证），然后再登录移动端。"})
        otp = "".join(ch for ch in payload.otp if ch.isdigit())
        if not otp or not device.verify_token(otp):
            return Status(401, {"detail": "请在 otp 中填写身份验证器上当前显示的6位数字。"})
    # As after a web log-in: earlier failures no longer count, and the log-in is audited.
    AxesProxyHandler.reset_attempts(username=phone)
    token, key = ApiToken.issue(user=user, name=payload.device_name, days=settings.GONGYU_API_TOKEN_DAYS)
    record(
        "auth.token", model="accounts.user", object_id=user.pk, actor=actor_for(user, ip=client_ip(request))
    )
    return Status(200, {"token": key, "expires_at": token.expires_at.isoformat()})


@router.delete("/token", response={204: None}, summary="注销当前令牌")
def token_delete(request):
    auth = request.headers.get("Authorization", "")
    key = auth.split(" ", 1)[1] if " " in auth else ""
    ApiToken.objects.visible_to(request.user).filter(digest=ApiToken.hash_key(key)).delete()
    return Status(204, None)


class RoleOut(Schema):
    role: str
    role_label: str
    unit_id: int | None
    unit_name: str
    student_id: int | None


class MeOut(Schema):
    id: int
    name: str
    phone_masked: str
    care_mode: bool
    language: str
    roles: list[RoleOut]


@router.get("/me", response=MeOut, summary="当前用户及其角色")
def me(request):
    scope = get_scope(request.user)
    unit_ids = {u for _r, u, _s in scope.roles if u}
    names = dict(OrgUnit.objects.visible_to(request.user).filter(id__in=unit_ids).values_list("id", "name"))
    roles = [
        {
            "role": r,
            "role_label": str(Role(r).label) if r in Role.values else r,
            "unit_id": u,
            "unit_name": names.get(u, ""),
            "student_id": s,
        }
        for r, u, s in scope.roles
    ]
    u = request.user
    return {
        "id": u.pk,
        "name": u.name,
        "phone_masked": mask_phone(u.phone),
        "care_mode": u.care_mode,
        "language": u.language or "zh-hans",
        "roles": roles,
    }
