"""Account operations: ending sessions, disabling accounts, SMS codes and guardian self-activation."""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import ApiToken, SmsCode, User, UserSession
from accounts.perms import ROLES_MANAGE
from audit.services import Actor, acting_as, actor_for, current_actor, record
from core.crypto import digest
from core.perms import can
from core.scoping import get_scope
from core.sms import send_sms
from org.models import Kind, OrgUnit
from people.models import ConsentPurpose, Guardian, Guardianship, Relation, Student
from people.services import consent_give

# --- sessions and disabling -------------------------------------------------------------------------


def _end_sessions(user: User) -> None:
    """Bump the epoch (every session hash changes) and delete the server-side sessions and API tokens."""
    User.objects.system(reason="ending a user's sessions").filter(pk=user.pk).update(session_epoch=models.F("session_epoch") + 1)
    user.refresh_from_db(fields=["session_epoch"])
    store_class = UserSession.get_session_store_class()
    for key in list(UserSession.objects.filter(user_id=user.pk).values_list("session_key", flat=True)):
        store_class(session_key=key).delete()  # also clears a cached copy (cached_db engine)
    ApiToken.objects.system(reason="every token of the user being signed out").filter(user=user).delete()


def user_logout_everywhere(*, user: User) -> None:
    """End every web session and revoke every API token of the account (e.g. a lost phone)."""
    with transaction.atomic():
        _end_sessions(user)
        record("auth.logout_everywhere", actor=user, model="accounts.user", object_id=user.pk)


def user_disable(*, actor: User | None, user: User) -> User:
    """Disable an account: it can no longer log in, its sessions end on the server and its tokens stop.
    The is_active change is audited through the model registry, attributed to the actor."""
    if actor is not None and not _may_manage_account(actor, user):
        raise PermissionDenied
    with transaction.atomic():
        if user.is_active:
            user._audit_actor = actor if actor is not None else current_actor()
            user.is_active = False
            user.save(update_fields=["is_active"])
        _end_sessions(user)
    return user


def _may_manage_account(actor: User, user: User) -> bool:
    if actor.pk == user.pk:
        return False  # an account is not disabled by itself: nobody could enable it again from inside
    if actor.is_superuser:
        return True
    scope = get_scope(actor)
    # Staff accounts: the actor manages roles where the account holds one.
    if User.objects.visible_to(actor).filter(pk=user.pk).exists() and can(scope, ROLES_MANAGE):
        return True
    # Guardian accounts: an admin (roles.manage) of a school or district where one of their children is.
    children = Student.objects.visible_to(actor).filter(guardianships__guardian__user=user).select_related("school_class")
    return any(can(scope, ROLES_MANAGE, child) for child in children)


# --- SMS codes ----------------------------------------------------------------------------------------

SMS_PURPOSE_ACTIVATE = "activate"
SMS_MAX_TRIES = 5
SMS_MIN_INTERVAL = timedelta(seconds=60)
SMS_PER_PHONE_HOUR = 5


class ActivationError(Exception):
    """A refusal with a message that is safe to show."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


def _code_hash(phone_digest: str, code: str) -> str:
    return salted_hmac("gongyu.sms-code", f"{phone_digest}:{code}", algorithm="sha256").hexdigest()


def _hit(key: str, *, limit: int, window: int = 3600) -> bool:
    """Count one event in a fixed window; True while the count is within the limit."""
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        count = 1
    return count <= limit


def _over(key: str, *, limit: int) -> bool:
    return (cache.get(key) or 0) >= limit


def sms_code_send(*, phone: str, ip: str | None, purpose: str = SMS_PURPOSE_ACTIVATE) -> str:
    """Send a fresh 6-digit code. Returns the code (the caller shows it only in the demo)."""
    phone_digest = digest(phone)
    now = timezone.now()
    recent = SmsCode.objects.filter(phone_digest=phone_digest, purpose=purpose, created_at__gte=now - timedelta(hours=1))
    last = recent.order_by("-created_at").values_list("created_at", flat=True).first()
    if last is not None and now - last < SMS_MIN_INTERVAL:
        wait = int((SMS_MIN_INTERVAL - (now - last)).total_seconds()) + 1
        raise ActivationError(_("验证码已发送，请 %(n)d 秒后再重新获取。") % {"n": wait}, "sms_too_soon")
    if recent.count() >= SMS_PER_PHONE_HOUR:
        raise ActivationError(_("该手机号一小时内获取验证码的次数已达上限，请1小时后再试。"), "sms_hour_limit")
    if ip and not _hit(f"gy:sms:ip:{ip}", limit=settings.GONGYU_SMS_PER_IP_HOUR):
        raise ActivationError(_("当前网络获取验证码过于频繁，请稍后再试。"), "sms_ip_limit")
    # Codes older than a day serve no check or limit any more.
    SmsCode.objects.filter(phone_digest=phone_digest, created_at__lt=now - timedelta(days=1)).delete()
    code = f"{secrets.randbelow(1_000_000):06d}"
    SmsCode.objects.create(
        phone_digest=phone_digest,
        purpose=purpose,
        code_hash=_code_hash(phone_digest, code),
        expires_at=now + timedelta(minutes=settings.GONGYU_SMS_CODE_TTL_MINUTES),
    )
    minutes = settings.GONGYU_SMS_CODE_TTL_MINUTES
    send_sms(phone=phone, text=_("【共育平台】您的激活验证码为 %(code)s，%(minutes)d分钟内有效。请勿告诉他人。") % {"code": code, "minutes": minutes})
    return code


def sms_code_check(*, phone: str, code: str, purpose: str = SMS_PURPOSE_ACTIVATE) -> SmsCode:
    """The latest code for the phone, if it matches and is still usable; a wrong try is counted."""
    phone_digest = digest(phone)
    row = SmsCode.objects.filter(phone_digest=phone_digest, purpose=purpose).order_by("-created_at", "-id").first()
    if row is None:
        raise ActivationError(_("请先点击“获取验证码”，并输入短信中的6位验证码。"), "sms_missing")
    if row.used_at is not None:
        raise ActivationError(_("该验证码已使用过，请重新获取验证码。"), "sms_used")
    if row.expires_at <= timezone.now():
        raise ActivationError(
            _("验证码已过期（有效期%(minutes)d分钟），请重新获取。") % {"minutes": settings.GONGYU_SMS_CODE_TTL_MINUTES}, "sms_expired"
        )
    if row.attempts >= SMS_MAX_TRIES:
        raise ActivationError(_("验证码输错次数过多，已失效，请重新获取验证码。"), "sms_too_many_tries")
    if not constant_time_compare(row.code_hash, _code_hash(phone_digest, code)):
        sms_code_count_failure(row)
        left = SMS_MAX_TRIES - row.attempts
        if left <= 0:
            raise ActivationError(_("验证码输错次数过多，已失效，请重新获取验证码。"), "sms_too_many_tries")
        raise ActivationError(_("验证码不正确，还可以再试 %(n)d 次。") % {"n": left}, "sms_wrong")
    return row


def sms_code_count_failure(row: SmsCode) -> None:
    SmsCode.objects.filter(pk=row.pk).update(attempts=models.F("attempts") + 1)
    row.refresh_from_db(fields=["attempts"])


# --- guardian self-activation ------------------------------------------------------------------------

CHILD_MISMATCH = gettext_noop("邀请码、孩子姓名或学籍号后四位不匹配，请核对班主任发放的邀请码和孩子的学籍信息。")
NOT_ON_ROSTER = gettext_noop("该手机号不在孩子的家长名单中，请联系班主任添加后再激活")


def normalise_invite_code(raw: str) -> str:
    # NFKC folds full-width letters and digits; spaces of any width are ignored.
    text = unicodedata.normalize("NFKC", raw or "")
    return "".join(ch for ch in text if not ch.isspace()).upper()


def normalise_name(raw: str) -> str:
    text = unicodedata.normalize("NFKC", raw or "")
    return "".join(ch for ch in text if not ch.isspace())


@dataclass
class ActivationRequest:
    phone: str
    sms_code: str
    invite_code: str
    child_name: str
    student_no_last4: str
    relation: str
    password: str
    password_confirm: str
    agree_rules: bool
    photo_publicity: bool = False
    growth_sharing: bool = False


@dataclass
class ActivationResult:
    user: User
    created: bool
    students: list


def activation_limited(*, phone: str, ip: str | None) -> bool:
    """Too many failed attempts from this phone or this address within the hour?"""
    if _over(f"gy:act:phone:{digest(phone)}", limit=settings.GONGYU_ACTIVATION_FAILURES_PER_PHONE_HOUR):
        return True
    return bool(ip) and _over(f"gy:act:ip:{ip}", limit=settings.GONGYU_ACTIVATION_FAILURES_PER_IP_HOUR)


def activation_failed(*, phone: str, ip: str | None) -> None:
    _hit(f"gy:act:phone:{digest(phone)}", limit=settings.GONGYU_ACTIVATION_FAILURES_PER_PHONE_HOUR)
    if ip:
        _hit(f"gy:act:ip:{ip}", limit=settings.GONGYU_ACTIVATION_FAILURES_PER_IP_HOUR)


def _match_children(req: ActivationRequest):
    """Active students of the class with that invitation code, that name and that 学籍号 ending.

    This is the one read of personal data outside the scoping layer: the requester is anonymous, and
    knowing the code, the name and the digits together is what authorises the match. Nothing about
    the match is shown back except "matched" or the single combined refusal.
    """
    code = normalise_invite_code(req.invite_code)
    last4 = normalise_invite_code(req.student_no_last4)
    name = normalise_name(req.child_name)
    if not code or len(last4) != 4 or not name:
        return []
    klass = OrgUnit.objects.system(reason="activation finds the class by its invite code").filter(kind=Kind.CLASS, invite_code=code, is_active=True).first()
    if klass is None:
        return []
    # The 学籍号 is encrypted, and a digest of 4 characters would be a 10,000-entry lookup table: the
    # tail is compared after decrypting the few students of that name in that class.
    candidates = Student.objects.system(reason="activation matches the child on the roster").filter(school_class=klass, is_active=True, name=name).select_related("school_class")
    return [s for s in candidates if s.student_no.upper().endswith(last4.upper())]


def guardian_activate(*, req: ActivationRequest, ip: str | None) -> ActivationResult:
    """Verify phone, child and roster, then create or link the account. Raises ActivationError and
    changes nothing (beyond counting the failure) when anything does not match."""
    if activation_limited(phone=req.phone, ip=ip):
        raise ActivationError(_("尝试次数过多，为保护孩子信息已暂停激活，请1小时后再试或联系班主任。"), "rate_limited")
    code_row = None
    try:
        code_row = sms_code_check(phone=req.phone, code=req.sms_code)
        students = _match_children(req)
        if not students:
            raise ActivationError(_(CHILD_MISMATCH), "child_mismatch")
        phone_digest = digest(req.phone)
        links = list(
            Guardianship.objects.system(reason="activation matches the phone on the child's roster").filter(
                student__in=students, guardian__phone_digest=phone_digest, guardian__is_active=True
            ).select_related("guardian", "student")
        )
        if not links:
            # Logged without the phone: which child was tried, and that the phone was not on its roster.
            record("accounts.activate_refused", actor=Actor(None, "anonymous", ip), model="people.student", object_id=students[0].pk, changes={"reason": "phone_not_on_roster"})
            raise ActivationError(_(NOT_ON_ROSTER), "not_on_roster")
        guardians = {link.guardian_id: link.guardian for link in links}
        if len(guardians) > 1:
            raise ActivationError(_("家长名单中该手机号对应多条记录，请联系班主任核对后再激活。"), "roster_ambiguous")
        guardian = next(iter(guardians.values()))
        existing = User.objects.system(reason="activation finds an existing account by phone").filter(phone=req.phone).first()
        if existing is not None:
            if not existing.is_active:
                raise ActivationError(_("该手机号的账号已停用，请联系学校或区教育局管理员。"), "account_disabled")
            if not existing.check_password(req.password):
                raise ActivationError(
                    _("该手机号已有共育账号（例如已为另一个孩子激活过），请在“密码”中输入该账号现在的登录密码。"), "existing_password"
                )
            other = Guardian.objects.system(reason="activation refuses a second district").filter(user=existing).exclude(pk=guardian.pk).first()
            if other is not None:
                raise ActivationError(
                    _("您的账号已关联另一个区的家长信息，暂不支持跨区关联，请联系班主任。"), "other_district"
                )
        else:
            if req.password != req.password_confirm:
                raise ActivationError(_("两次输入的密码不一致，请重新输入。"), "password_mismatch")
            try:
                validate_password(req.password, User(phone=req.phone, name=guardian.name))
            except ValidationError as exc:
                raise ActivationError(" ".join(exc.messages), "password_invalid") from exc
        if guardian.user_id is not None and (existing is None or guardian.user_id != existing.pk):
            raise ActivationError(_("该家长信息已关联其他账号，请联系班主任核对。"), "guardian_taken")
    except ActivationError:
        activation_failed(phone=req.phone, ip=ip)
        if code_row is not None:
            sms_code_count_failure(code_row)
        raise

    now = timezone.now()
    with transaction.atomic():
        # The code is spent exactly once, even if two requests race with it.
        spent = SmsCode.objects.filter(pk=code_row.pk, used_at__isnull=True).update(used_at=now)
        if not spent:
            raise ActivationError(_("该验证码已使用过，请重新获取验证码。"), "sms_used")
        created = existing is None
        user = existing or User.objects.create_user(req.phone, req.password, name=guardian.name[:50])
        with acting_as(actor_for(user, ip=ip)):
            if guardian.user_id is None:
                guardian.user = user
                guardian.save(update_fields=["user", "updated_at"])
            for link in links:
                link.verified_at = now
                fields = ["verified_at"]
                # The roster is authoritative; a relation it left open is filled in from the guardian.
                if link.relation == Relation.OTHER and req.relation in Relation.values and req.relation != Relation.OTHER:
                    link.relation = req.relation
                    fields.append("relation")
                link.save(update_fields=fields)
            version = settings.GONGYU_RULES_VERSION
            consent_give(guardian=guardian, purpose=ConsentPurpose.PLATFORM, rules_version=version)
            for link in links:
                if req.photo_publicity:
                    consent_give(guardian=guardian, purpose=ConsentPurpose.PHOTO_PUBLICITY, rules_version=version, student=link.student)
                if req.growth_sharing:
                    consent_give(guardian=guardian, purpose=ConsentPurpose.GROWTH_SHARING, rules_version=version, student=link.student)
            record(
                "accounts.activate",
                actor=actor_for(user, ip=ip),
                model="people.guardian",
                object_id=guardian.pk,
                changes={"students": [link.student_id for link in links], "new_account": created},
            )
    return ActivationResult(user=user, created=created, students=[link.student for link in links])
