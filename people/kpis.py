"""The people app's KPI providers (core.kpi), listed in people/module.py."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.kpi import Figure, KpiProvider, Period
from people.models import Guardian


def _end_of(period: Period) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(period.end, dt.time.min))


def guardian_activation(period: Period, node) -> Figure:
    """One aggregate: guardians of the node's pupils on the roll at the period's end, and those of them with
    an account opened before it. A guardian of two pupils counts once (DISTINCT)."""
    end = _end_of(period)
    # Every guardian in the subtree, whichever active pupil of it links them (join on the pupil's class path).
    counts = Guardian.objects.filter(
        is_active=True,
        created_at__lt=end,
        guardianships__student__is_active=True,
        guardianships__student__district_id=node.district_id,
        guardianships__student__school_class__path__startswith=node.path,
    ).aggregate(
        total=Count("id", distinct=True),
        activated=Count("id", distinct=True, filter=Q(user__isnull=False, user__date_joined__lt=end)),
    )
    return Figure.rate(counts["activated"], counts["total"])


GUARDIAN_ACTIVATION = KpiProvider(
    code="people.guardian_activation",
    title=_("家长激活率"),
    definition=_(
        "统计期末，本单位及下属单位在读学生的在册家长中，已开通账号（在期末前激活）的家长所占比例；"
        "一位家长有多个孩子只计一次，已停用的家长和离校学生的家长不计。"
    ),
    unit="%",
    compute=guardian_activation,
)
