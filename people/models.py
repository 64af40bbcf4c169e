"""Students, guardians, the guardianships between them, households and consent records."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.crypto import EncryptedCharField, digest, mask_id_number, mask_phone, mask_student_no
from core.scoping import ScopedQuerySet, any_q, prefix_q


class Gender(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")


class Relation(models.TextChoices):
    FATHER = "father", _("父亲")
    MOTHER = "mother", _("母亲")
    PATERNAL_GRANDFATHER = "paternal_grandfather", _("祖父")
    PATERNAL_GRANDMOTHER = "paternal_grandmother", _("祖母")
    MATERNAL_GRANDFATHER = "maternal_grandfather", _("外祖父")
    MATERNAL_GRANDMOTHER = "maternal_grandmother", _("外祖母")
    OTHER = "other", _("其他监护人")


GRANDPARENT_RELATIONS = frozenset(
    {Relation.PATERNAL_GRANDFATHER, Relation.PATERNAL_GRANDMOTHER, Relation.MATERNAL_GRANDFATHER, Relation.MATERNAL_GRANDMOTHER}
)


def student_scope_q(scope) -> models.Q | None:
    ids = models.Q(id__in=scope.student_ids) if scope.student_ids else None
    return any_q(prefix_q("school_class__path", scope.student_prefixes), ids)


def guardian_scope_q(scope) -> models.Q | None:
    """Guardians of the students in scope, and the user's own guardian record."""
    student_q = student_scope_q(scope)
    q = None
    if student_q is not None:
        q = models.Q(id__in=Guardianship.objects.filter(student__in=Student.objects.filter(student_q)).values("guardian_id"))
    if scope.guardian_id:
        own = models.Q(id=scope.guardian_id)
        q = own if q is None else q | own
    return q


class StudentQuerySet(ScopedQuerySet):
    def scope_q(self, scope):
        return student_scope_q(scope)

    def active(self):
        return self.filter(is_active=True)

    def with_student_no(self, *student_nos):
        """Students by 学籍号: the column is encrypted, so the match is on its keyed digest."""
        return self.filter(student_no_digest__in=[digest(n) for n in student_nos if n])

    def bulk_create(self, objs, *args, **kwargs):
        # bulk_create bypasses save(): fill the digests here so no path can store a student without them.
        objs = list(objs)
        for obj in objs:
            obj.fill_digests()
        return super().bulk_create(objs, *args, **kwargs)

    def under(self, *units_or_paths):
        """Students whose class lies under any of these units (or materialised paths): the subtree test
        the org tree is built for (decision 0001), in one place. Narrows; never widens visible_to()."""
        paths = [u if isinstance(u, str) else u.path for u in units_or_paths]
        q = prefix_q("school_class__path", paths)
        return self.filter(q) if q is not None else self.none()


class Student(models.Model):
    district = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey("org.OrgUnit", verbose_name=_("学校"), on_delete=models.PROTECT, related_name="school_students")
    school_class = models.ForeignKey("org.OrgUnit", verbose_name=_("班级"), on_delete=models.PROTECT, related_name="students")
    name = models.CharField(_("姓名"), max_length=50)
    gender = models.CharField(_("性别"), max_length=1, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    # The national 学籍号 is "G" + the ID number: encrypted like it, found by its digest (docs/security.md).
    student_no = EncryptedCharField(_("学籍号"))
    student_no_digest = models.CharField(max_length=64, editable=False, default="")
    id_number = EncryptedCharField(_("身份证号"), blank=True, default="")
    id_digest = models.CharField(max_length=64, blank=True, default="", editable=False, db_index=True)
    is_active = models.BooleanField(_("在读"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StudentQuerySet.as_manager()

    class Meta:
        verbose_name = _("学生")
        verbose_name_plural = _("学生")
        ordering = ["school_class_id", "name"]
        constraints = [models.UniqueConstraint(fields=["district", "student_no_digest"], name="student_no_unique_in_district")]
        indexes = [models.Index(fields=["school_class", "is_active"], name="student_class_active_idx")]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.fill_digests()
        super().save(*args, **kwargs)

    def fill_digests(self) -> None:
        # The digests follow the encrypted values so that duplicates can be found without decrypting.
        self.id_digest = digest(self.id_number) if self.id_number else ""
        self.student_no_digest = digest(self.student_no) if self.student_no else ""

    def scope_path(self) -> str:
        return self.school_class.path

    @property
    def scope_student_id(self) -> int:
        return self.pk

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def student_no_masked(self) -> str:
        return mask_student_no(self.student_no)


class GuardianQuerySet(ScopedQuerySet):
    def scope_q(self, scope):
        return guardian_scope_q(scope)


class HouseholdQuerySet(ScopedQuerySet):
    def scope_q(self, scope):
        q = guardian_scope_q(scope)
        return models.Q(id__in=Guardian.objects.filter(q).values("household_id")) if q is not None else None


class GuardianshipQuerySet(ScopedQuerySet):
    def scope_q(self, scope):
        q = student_scope_q(scope)
        return models.Q(student__in=Student.objects.filter(q)) if q is not None else None


class Household(models.Model):
    """Guardians who share children: a notice may accept one reply per household."""

    district = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = HouseholdQuerySet.as_manager()

    class Meta:
        verbose_name = _("家庭")
        verbose_name_plural = _("家庭")

    def __str__(self):
        return f"家庭 #{self.pk}"


class Guardian(models.Model):
    district = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="guardian"
    )
    household = models.ForeignKey(Household, null=True, blank=True, on_delete=models.SET_NULL, related_name="guardians")
    name = models.CharField(_("姓名"), max_length=50)
    phone = EncryptedCharField(_("手机号"), blank=True, default="")
    phone_digest = models.CharField(max_length=64, blank=True, default="", editable=False)
    id_number = EncryptedCharField(_("身份证号"), blank=True, default="")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = GuardianQuerySet.as_manager()

    class Meta:
        verbose_name = _("监护人")
        verbose_name_plural = _("监护人")
        ordering = ["id"]
        constraints = [
            # The guardian's phone identifies them within a district (imports key on it).
            models.UniqueConstraint(fields=["district", "phone_digest"], condition=~models.Q(phone_digest=""), name="guardian_phone_unique_in_district")
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.phone_digest = digest(self.phone) if self.phone else ""
        super().save(*args, **kwargs)

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)


class Guardianship(models.Model):
    guardian = models.ForeignKey(Guardian, on_delete=models.CASCADE, related_name="guardianships")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="guardianships")
    relation = models.CharField(_("关系"), max_length=24, choices=Relation.choices)
    is_primary = models.BooleanField(_("第一监护人"), default=False)
    lives_with = models.BooleanField(_("共同居住"), default=True)
    verified_at = models.DateTimeField(_("核验时间"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = GuardianshipQuerySet.as_manager()

    class Meta:
        verbose_name = _("监护关系")
        verbose_name_plural = _("监护关系")
        constraints = [models.UniqueConstraint(fields=["guardian", "student"], name="guardianship_unique")]
        indexes = [models.Index(fields=["student", "guardian"], name="guardianship_student_idx")]

    def __str__(self):
        return f"{self.guardian_id}→{self.student_id} ({self.relation})"

    @property
    def is_grandparent(self) -> bool:
        return self.relation in GRANDPARENT_RELATIONS


class ConsentPurpose(models.TextChoices):
    PLATFORM = "platform", _("使用共育平台（基础服务）")
    PSYCH_SCREENING = "psych_screening", _("心理健康筛查")
    CARE_FILE = "care_file", _("关爱档案（一人一档）")
    REFERRAL = "referral", _("向相关部门转介")
    PHOTO_PUBLICITY = "photo_publicity", _("活动照片宣传使用")
    GROWTH_SHARING = "growth_sharing", _("成长档案共享")


# Purposes a guardian may decline without losing basic functions (PIPL art. 16).
OPTIONAL_PURPOSES = frozenset(set(ConsentPurpose) - {ConsentPurpose.PLATFORM})


class ConsentQuerySet(ScopedQuerySet):
    def scope_q(self, scope):
        q = guardian_scope_q(scope)
        return models.Q(guardian__in=Guardian.objects.filter(q)) if q is not None else None

    def in_force(self):
        return self.filter(withdrawn_at__isnull=True)


class Consent(models.Model):
    """One guardian's agreement to one purpose, under one version of the rules; withdrawal keeps the row."""

    district = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    guardian = models.ForeignKey(Guardian, on_delete=models.PROTECT, related_name="consents")
    student = models.ForeignKey(Student, null=True, blank=True, on_delete=models.PROTECT, related_name="consents")
    purpose = models.CharField(_("用途"), max_length=24, choices=ConsentPurpose.choices)
    rules_version = models.CharField(_("规则版本"), max_length=20)
    given_at = models.DateTimeField(_("同意时间"))
    withdrawn_at = models.DateTimeField(_("撤回时间"), null=True, blank=True)
    channel = models.CharField(_("方式"), max_length=16, default="web")

    objects = ConsentQuerySet.as_manager()

    class Meta:
        verbose_name = _("同意记录")
        verbose_name_plural = _("同意记录")
        ordering = ["-given_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["guardian", "student", "purpose"], condition=models.Q(withdrawn_at__isnull=True), name="consent_one_in_force",
            ),
            # NULLs are distinct in unique indexes, so consents for all children need their own rule.
            models.UniqueConstraint(
                fields=["guardian", "purpose"],
                condition=models.Q(withdrawn_at__isnull=True, student__isnull=True),
                name="consent_one_in_force_all_children",
            ),
        ]

    def __str__(self):
        return f"{self.get_purpose_display()} v{self.rules_version}"
