"""The organisation tree: one table of units with a materialised path, so that "everything under this
unit" — the question every scope asks — is one indexed prefix match."""

import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.scoping import ScopedQuerySet, any_q, prefix_q


class Kind(models.TextChoices):
    DISTRICT = "district", _("区县")
    STREET = "street", _("街道/乡镇")
    COMMUNITY = "community", _("社区/村")
    SCHOOL = "school", _("学校")
    GRADE = "grade", _("年级")
    CLASS = "class", _("班级")
    DEPARTMENT = "department", _("部门")
    PARTNER = "partner", _("合作单位")


class Stage(models.TextChoices):
    KINDERGARTEN = "kindergarten", _("幼儿园")
    PRIMARY = "primary", _("小学")
    JUNIOR = "junior", _("初中")
    SENIOR = "senior", _("高中")
    NINE_YEAR = "nine_year", _("九年一贯制")


class PartnerCategory(models.TextChoices):
    MUSEUM = "museum", _("博物馆/纪念馆")
    LIBRARY = "library", _("图书馆")
    FARM = "farm", _("农场/劳动基地")
    SCIENCE = "science", _("科技馆")
    ENTERPRISE = "enterprise", _("企业")
    HOSPITAL = "hospital", _("医院")
    NGO = "ngo", _("社会组织")
    OTHER = "other", _("其他")


# Which kinds may sit under which: the tree the seeds describe (区 → 街道 → 学校 → 年级 → 班级;
# 街道 → 社区/村; 区 → 部门/合作单位; a partner may also belong to a street).
ALLOWED_CHILDREN = {
    Kind.DISTRICT: {Kind.STREET, Kind.SCHOOL, Kind.DEPARTMENT, Kind.PARTNER},
    Kind.STREET: {Kind.COMMUNITY, Kind.SCHOOL, Kind.PARTNER},
    Kind.SCHOOL: {Kind.GRADE},
    Kind.GRADE: {Kind.CLASS},
    Kind.COMMUNITY: set(),
    Kind.CLASS: set(),
    Kind.DEPARTMENT: set(),
    Kind.PARTNER: set(),
}


def new_invite_code() -> str:
    # Unambiguous characters: grandparents read these off a printed slip.
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(8))


class OrgUnitQuerySet(ScopedQuerySet):
    def scope_q(self, scope):
        singles = models.Q(id__in=scope.unit_ids) if scope.unit_ids else None
        return any_q(prefix_q("path", scope.unit_prefixes), singles)

    def of_kind(self, kind):
        return self.filter(kind=kind)

    def under(self, unit):
        return self.filter(path__startswith=unit.path)


class OrgUnit(models.Model):
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices, db_index=True)
    name = models.CharField(_("名称"), max_length=100)
    code = models.CharField(_("编码"), max_length=32, blank=True, help_text=_("学校标识码或单位编码，区内唯一"))
    parent = models.ForeignKey("self", verbose_name=_("上级单位"), null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    # The district this unit belongs to (itself for a district): every growing table carries it.
    district = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=255, editable=False, default="")
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    stage = models.CharField(_("学段"), max_length=16, choices=Stage.choices, blank=True)
    grade_year = models.SmallIntegerField(_("年级序号"), null=True, blank=True, help_text=_("一年级为1，初一为7，高一为10；幼儿园小班为-2"))
    class_no = models.PositiveSmallIntegerField(_("班号"), null=True, blank=True)
    entry_year = models.PositiveSmallIntegerField(_("入学年份"), null=True, blank=True)
    invite_code = models.CharField(_("班级邀请码"), max_length=12, blank=True, db_index=True)
    partner_category = models.CharField(_("合作单位类别"), max_length=16, choices=PartnerCategory.choices, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)
    sort_order = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrgUnitQuerySet.as_manager()

    class Meta:
        verbose_name = _("组织单元")
        verbose_name_plural = _("组织单元")
        ordering = ["path"]
        indexes = [
            # varchar_pattern_ops lets PostgreSQL use the index for LIKE 'prefix%' under any collation.
            models.Index(fields=["path"], name="org_unit_path_idx", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["district", "kind"], name="org_unit_district_kind_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["district", "code"], condition=~models.Q(code=""), name="org_unit_code_unique_in_district"),
            models.UniqueConstraint(fields=["invite_code"], condition=~models.Q(invite_code=""), name="org_unit_invite_code_unique"),
        ]

    def __str__(self):
        return self.name

    @property
    def ancestor_ids(self) -> list[int]:
        return [int(p) for p in self.path.strip("/").split("/") if p][:-1]

    def ancestors(self):
        return OrgUnit.objects.filter(id__in=self.ancestor_ids).order_by("depth")

    @property
    def full_name(self) -> str:
        """School and class together, e.g. 实验小学 三(2)班 — what a parent recognises."""
        if self.kind == Kind.CLASS and self.parent_id:
            grade = self.parent
            school = grade.parent if grade else None
            return f"{school.name if school else ''} {self.name}".strip()
        return self.name


class _KindManager(models.Manager):
    def __init__(self, kind):
        super().__init__()
        self.kind = kind

    def get_queryset(self):
        return OrgUnitQuerySet(self.model, using=self._db).filter(kind=self.kind)

    def visible_to(self, user):
        return self.get_queryset().visible_to(user)


def _proxy(name: str, kind: str, label: str):
    meta = type("Meta", (), {"proxy": True, "verbose_name": label, "verbose_name_plural": label})
    return type(name, (OrgUnit,), {"__module__": __name__, "Meta": meta, "objects": _KindManager(kind)})


# One name per glossary idea; all of them are rows of OrgUnit.
District = _proxy("District", Kind.DISTRICT, _("区县"))
Street = _proxy("Street", Kind.STREET, _("街道/乡镇"))
Community = _proxy("Community", Kind.COMMUNITY, _("社区/村"))
School = _proxy("School", Kind.SCHOOL, _("学校"))
Grade = _proxy("Grade", Kind.GRADE, _("年级"))
SchoolClass = _proxy("SchoolClass", Kind.CLASS, _("班级"))
Department = _proxy("Department", Kind.DEPARTMENT, _("部门"))
Partner = _proxy("Partner", Kind.PARTNER, _("合作单位"))
