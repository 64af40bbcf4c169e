"""The participation ledger: who took part in what, the learning hours it earned and the certificates
those hours earn. Every module credits it (ledger.services.credit) under a source key of its own
("activity.session:12", "course.lesson:7"); the ledger never imports a module, it names a source through
the registry (ledger.registry) the module fills.

The tables keep the names they had in activities and courses (docs/decisions/0010)."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.perms import provided_perm
from core.scoping import (
    ScopedQuerySet,
    any_q,
    family_guardian_q,
    guardian_q,
    prefix_q,
    scoped_via,
    staff_prefixes,
)
from ledger import registry

DEFAULT_HOURS_TARGET = Decimal("8")

# Which staff see a unit's ledger rows is a higher module's permission, named by the module that fills
# the slot (Module.provides; the ledger imports no module): as before the move, organisers of activities
# see their classes' participation (activities), those who run the parent school their families' hours and
# certificates (courses). An unfilled slot: no staff sees those rows, the families still see their own.
PARTICIPATION_STAFF_SLOT = "ledger.participation_staff_perm"
HOURS_STAFF_SLOT = "ledger.hours_staff_perm"


class ParticipationQuerySet(ScopedQuerySet):
    def scope_q(self, scope):
        perm = provided_perm(PARTICIPATION_STAFF_SLOT)
        family = scope.family_student_ids
        return any_q(
            prefix_q("class_path", staff_prefixes(scope, perm)) if perm else None,
            models.Q(student_id__in=family) if family else None,
        )


class Participation(models.Model):
    """A family took part: one row per (source, child), whoever of the family came. Class, school and path
    are copied at write time so that coverage is one indexed aggregate."""

    district = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    student = models.ForeignKey("people.Student", on_delete=models.PROTECT, related_name="participations")
    school = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    school_class = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    class_path = models.CharField(max_length=255)
    day = models.DateField()
    # The coverage channel the crediting module names ("activity", "campaign"): coverage filters by it.
    source = models.CharField(max_length=10)
    # What was taken part in: "<source kind>:<id>", the kind registered by the crediting module.
    source_key = models.CharField(max_length=40)
    kind = models.CharField(max_length=24, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ParticipationQuerySet.as_manager()

    class Meta:
        db_table = "activities_participation"
        verbose_name = _("家庭参与记录")
        verbose_name_plural = _("家庭参与记录")
        constraints = [models.UniqueConstraint(fields=["source_key", "student"], name="participation_once_per_source")]
        indexes = [
            # Coverage per class in a period: an index-only scan over (district, day) with the class and student.
            models.Index(fields=["district", "day", "school_class", "student"], name="participation_cover_idx"),
            models.Index(fields=["class_path", "day"], name="participation_path_idx", opclasses=["varchar_pattern_ops", "date_ops"]),
        ]

    @property
    def source_label(self) -> str:
        return registry.label_for(self.source_key)


class FamilyPeriod(models.Model):
    """Roll-up of Participation for coverage: the family of `student` took part (through `source`) at least
    once in `period`. Written with every participation row for the periods containing its day, and
    back-filled once per period from Participation (PeriodRollup marks that), so that coverage for a
    period reads at most one row per family instead of every participation."""

    period = models.ForeignKey("periods.Period", on_delete=models.CASCADE, related_name="+")
    student = models.ForeignKey("people.Student", on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=10)
    district = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")

    objects = scoped_via("student")

    class Meta:
        db_table = "activities_familyperiod"
        verbose_name = _("周期参与汇总")
        verbose_name_plural = _("周期参与汇总")
        constraints = [models.UniqueConstraint(fields=["period", "student", "source"], name="family_period_once")]


class PeriodRollup(models.Model):
    """Marks a period whose FamilyPeriod rows were back-filled from Participation."""

    period = models.OneToOneField("periods.Period", on_delete=models.CASCADE, related_name="+")
    built_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "activities_periodrollup"
        verbose_name = _("周期汇总标记")
        verbose_name_plural = _("周期汇总标记")


class GuardianRowQuerySet(ScopedQuerySet):
    def scope_q(self, scope):
        perm = provided_perm(HOURS_STAFF_SLOT)
        return family_guardian_q(scope, staff_perm=perm) if perm else guardian_q(scope)


class SchoolSetting(models.Model):
    """The certificate rule of a school: the hours it delivers per semester and a guardian needs for a
    certificate (seed 000: 每学期开展家长培训不少于8课时)."""

    school = models.OneToOneField("org.OrgUnit", on_delete=models.CASCADE, related_name="parent_school_setting")
    hours_target = models.DecimalField(_("每学期学时要求"), max_digits=4, decimal_places=1, default=DEFAULT_HOURS_TARGET)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "courses_schoolsetting"
        verbose_name = _("家长学校设置")
        verbose_name_plural = _("家长学校设置")
        constraints = [models.CheckConstraint(condition=models.Q(hours_target__gt=0), name="school_hours_target_positive")]


class LearningHours(models.Model):
    """Hours credited to a guardian: one row per (guardian, source), so that the same lesson attended and
    watched, or a check-in repeated, is counted once."""

    district = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    guardian = models.ForeignKey("people.Guardian", on_delete=models.PROTECT, related_name="learning_hours")
    source_key = models.CharField(max_length=40)
    hours = models.DecimalField(_("学时"), max_digits=4, decimal_places=1)
    earned_on = models.DateField(_("日期"))
    title = models.CharField(_("内容"), max_length=160)
    # The school that delivered it (None for district or community offerings).
    school = models.ForeignKey("org.OrgUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = GuardianRowQuerySet.as_manager()

    class Meta:
        db_table = "courses_learninghours"
        verbose_name = _("学时记录")
        verbose_name_plural = _("学时记录")
        ordering = ["-earned_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["guardian", "source_key"], name="learning_hours_once_per_source"),
            models.CheckConstraint(condition=models.Q(hours__gt=0), name="learning_hours_positive"),
        ]
        indexes = [models.Index(fields=["guardian", "earned_on"], name="learning_hours_guardian_idx")]

    @property
    def source_label(self) -> str:
        return registry.label_for(self.source_key)

    @property
    def kind(self) -> str:
        return registry.code_for(self.source_key)

    @property
    def source_link(self) -> str | None:
        return registry.link_for(self.source_key)


class Certificate(models.Model):
    district = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    guardian = models.ForeignKey("people.Guardian", on_delete=models.PROTECT, related_name="certificates")
    period = models.ForeignKey("periods.Period", on_delete=models.PROTECT, related_name="+")
    hours = models.DecimalField(max_digits=5, decimal_places=1)
    threshold = models.DecimalField(max_digits=4, decimal_places=1)
    serial = models.CharField(max_length=32, unique=True)
    issued_at = models.DateTimeField(auto_now_add=True)

    objects = GuardianRowQuerySet.as_manager()

    class Meta:
        db_table = "courses_certificate"
        verbose_name = _("结业证书")
        verbose_name_plural = _("结业证书")
        constraints = [models.UniqueConstraint(fields=["guardian", "period"], name="certificate_once_per_period")]
