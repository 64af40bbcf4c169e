"""The school calendar as data: every target and KPI is computed for a Period."""

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import formats, timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.scoping import ScopedQuerySet


class PeriodKind(models.TextChoices):
    SCHOOL_YEAR = "school_year", _("学年")
    SEMESTER = "semester", _("学期")
    QUARTER = "quarter", _("季度")
    MONTH = "month", _("月")


def period_label(kind: str, start: dt.date) -> str:
    """A generated period's name in the active language (2025—2026学年第一学期 / 2025–2026 first semester)."""
    if kind == PeriodKind.MONTH:
        return formats.date_format(start, "YEAR_MONTH_FORMAT")
    if kind == PeriodKind.QUARTER:
        quarter = (start.month - 1) // 3 + 1
        names = (gettext("%(year)d年第一季度"), gettext("%(year)d年第二季度"), gettext("%(year)d年第三季度"), gettext("%(year)d年第四季度"))
        return names[quarter - 1] % {"year": start.year}
    first_year = start.year if start.month >= 8 else start.year - 1
    years = {"start": first_year, "end": first_year + 1}
    if kind == PeriodKind.SCHOOL_YEAR:
        return gettext("%(start)d—%(end)d学年") % years
    if start.month >= 8:
        return gettext("%(start)d—%(end)d学年第一学期") % years
    return gettext("%(start)d—%(end)d学年第二学期") % years


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
        qs = self.filter(district=district, kind=kind).scoped("a district's calendar is public to it")
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
        return self.label

    @property
    def label(self) -> str:
        """The name in the reader's language when it is the generated one; a name typed by hand as it is."""
        with translation.override(settings.LANGUAGE_CODE):
            generated = period_label(self.kind, self.start)
        return period_label(self.kind, self.start) if self.name == generated else self.name

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end
