"""The school calendar as data: every target and KPI is computed for a Period."""

import datetime as dt

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.scoping import ScopedQuerySet


class PeriodKind(models.TextChoices):
    SCHOOL_YEAR = "school_year", _("学年")
    SEMESTER = "semester", _("学期")
    QUARTER = "quarter", _("季度")
    MONTH = "month", _("月")


class PeriodQuerySet(ScopedQuerySet):
    def scope_q(self, scope):
        # The calendar is the district's: everyone who works or has a child in the district reads it.
        return models.Q(district_id__in=scope.district_ids) if scope.district_ids else None

    def containing(self, day: dt.date):
        return self.filter(start__lte=day, end__gte=day)

    def current(self, *, district, kind: str, on: dt.date | None = None):
        """The period of this kind that contains the day (default: today in Asia/Shanghai), or None.

        Semesters include their holidays, so every day of a generated school year has one. A day past
        the last generated period (next year not generated yet) gets the most recent period that
        ended, whose targets are still being reported on; a day before the first one gets None.
        """
        # The district's calendar day (settings.TIME_ZONE, Asia/Shanghai), whatever zone is active.
        day = on or timezone.localdate(timezone=timezone.get_default_timezone())
        qs = self.filter(district=district, kind=kind)
        found = qs.containing(day).order_by("start").first()
        if found is None:
            found = qs.filter(end__lt=day).order_by("-end").first()
        return found


class Period(models.Model):
    district = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("类型"), max_length=16, choices=PeriodKind.choices)
    name = models.CharField(_("名称"), max_length=40)
    start = models.DateField(_("开始日期"))
    end = models.DateField(_("结束日期"))
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")

    objects = PeriodQuerySet.as_manager()

    class Meta:
        verbose_name = _("周期")
        verbose_name_plural = _("周期")
        ordering = ["start", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["district", "kind", "start"], name="period_unique_start"),
            models.CheckConstraint(condition=models.Q(end__gte=models.F("start")), name="period_end_after_start"),
        ]
        indexes = [models.Index(fields=["district", "kind", "start", "end"], name="period_lookup_idx")]

    def __str__(self):
        return self.name

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end
