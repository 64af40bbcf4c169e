import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.sessions.base_session import AbstractBaseSession
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.perms import ROLES_MANAGE
from accounts.roles import Role
from accounts.session_store import SessionStore
from core.scoping import ScopedQuerySet, any_q, staff_q

phone_validator = RegexValidator(r"^1[3-9]\d{9}$", _("请输入11位中国大陆手机号，例如 13812345678。"))


class UserQuerySet(ScopedQuerySet):
    def scope_q(self, scope):
        # Staff see the accounts that hold roles inside the units they manage roles for.
        q = staff_q(scope, "role_assignments__unit__path", ROLES_MANAGE)
        return any_q(q, models.Q(id=scope.user_id) if scope.user_id else None)


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):
    use_in_migrations = True

    def create_user(self, phone, password=None, **extra):
        if not phone:
            raise ValueError("phone is required")
        user = self.model(phone=phone, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, phone, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(phone, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    phone = models.CharField(_("手机号"), max_length=11, unique=True, validators=[phone_validator])
    name = models.CharField(_("姓名"), max_length=50)
    is_active = models.BooleanField(_("启用"), default=True)
    # Django admin access: platform operators only, never granted by a role.
    is_staff = models.BooleanField(_("平台运维"), default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    care_mode = models.BooleanField(_("关怀模式"), default=False)
    # When the user last chose care mode on or off: a grandparent is offered it until they have chosen.
    care_mode_chosen_at = models.DateTimeField(null=True, blank=True)
    language = models.CharField(_("界面语言"), max_length=10, blank=True, default="")
    password_changed_at = models.DateTimeField(null=True, blank=True)
    # Bumped to end every session of the account on the server (disable, "log out everywhere").
    session_epoch = models.PositiveIntegerField(default=0)

    objects = UserManager()

    USERNAME_FIELD = "phone"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self):
        return self.name or f"用户 {self.pk}"

    def get_full_name(self):
        return self.name

    def get_short_name(self):
        return self.name

    def set_password(self, raw_password):
        super().set_password(raw_password)
        self.password_changed_at = timezone.now()

    def get_session_auth_hash(self):
        # Folding the epoch into the hash makes Django reject every older session cookie.
        base = super().get_session_auth_hash()
        return hashlib.sha256(f"{base}:{self.session_epoch}".encode()).hexdigest()

    def guardian_profile_id(self) -> int | None:
        guardian = getattr(self, "guardian", None)
        return guardian.pk if guardian else None


class RoleAssignmentQuerySet(ScopedQuerySet):
    def scope_q(self, scope):
        q = staff_q(scope, "unit__path", ROLES_MANAGE)
        return any_q(q, models.Q(user_id=scope.user_id) if scope.user_id else None)

    def current(self):
        now = timezone.now()
        return self.filter(is_active=True).filter(models.Q(ends_at__isnull=True) | models.Q(ends_at__gt=now))


class RoleAssignment(models.Model):
    """A role held in a scope: user + role + org unit, or + student for a carer."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(_("角色"), max_length=24, choices=Role.choices)
    unit = models.ForeignKey("org.OrgUnit", verbose_name=_("所在单位"), on_delete=models.PROTECT, related_name="role_assignments")
    student = models.ForeignKey(
        "people.Student", verbose_name=_("关爱对象"), null=True, blank=True, on_delete=models.CASCADE, related_name="carers"
    )
    district = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("职务/学科"), max_length=50, blank=True)
    is_active = models.BooleanField(default=True)
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True)
    granted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RoleAssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("角色授权")
        verbose_name_plural = _("角色授权")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "unit"], condition=models.Q(student__isnull=True, is_active=True), name="role_assignment_unique_unit"
            ),
            models.UniqueConstraint(
                fields=["user", "role", "student"], condition=models.Q(student__isnull=False, is_active=True), name="role_assignment_unique_student"
            ),
        ]
        indexes = [models.Index(fields=["unit", "role"], name="role_assignment_unit_role_idx")]

    def __str__(self):
        return f"{self.get_role_display()} @ {self.unit}"

    def scope_path(self) -> str:
        return self.unit.path


class ApiTokenQuerySet(ScopedQuerySet):
    def scope_q(self, scope):
        # A user's bearer tokens are their own: nobody else lists or revokes them (operators through .system()).
        return models.Q(user_id=scope.user_id) if scope.user_id else None


class ApiToken(models.Model):
    """Bearer token for the mobile client. Only a digest is stored; the key is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    name = models.CharField(max_length=60, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)

    holds_personal_data = True
    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode("utf-8")).hexdigest()

    @classmethod
    def issue(cls, *, user: User, name: str = "", days: int = 30) -> tuple["ApiToken", str]:
        key = "gy_" + secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user, digest=cls.hash_key(key), prefix=key[:8], name=name[:60], expires_at=timezone.now() + timedelta(days=days)
        )
        return token, key


class SmsCode(models.Model):
    """A one-time code sent to a phone number, stored hashed, valid for minutes, tried a few times."""

    phone_digest = models.CharField(max_length=64, db_index=True)
    purpose = models.CharField(max_length=16, default="activate")
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("短信验证码")
        verbose_name_plural = _("短信验证码")


class UserSession(AbstractBaseSession):
    """Server-side sessions with the account they belong to, so that disabling an account or "log out
    everywhere" can delete exactly that account's sessions (Django's own table cannot be searched by user)."""

    user_id = models.BigIntegerField(null=True, blank=True, db_index=True)  # not a FK: anonymous sessions too

    class Meta:
        verbose_name = _("登录会话")
        verbose_name_plural = _("登录会话")

    @classmethod
    def get_session_store_class(cls):
        return SessionStore
