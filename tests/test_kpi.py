"""The KPI provider interface (core.kpi) and its first provider, the guardian activation rate: exact values
for known records at school and class level, the period's end, and the scope check of figure_for()."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.http import Http404
from django.utils import timezone

from core import kpi
from core.kpi import Figure, KpiProvider, Period
from people.models import Guardian, Guardianship, Relation, Student
from tests.world import make_user

CODE = "people.guardian_activation"


def _now_period() -> Period:
    today = timezone.localdate()
    return Period(today - dt.timedelta(days=30), today + dt.timedelta(days=1))


def test_the_registry_lists_the_provider_with_its_chinese_definition():
    provider = kpi.get(CODE)
    assert provider in kpi.registry().values()
    assert str(provider.title) == "家长激活率" and provider.unit == "%"
    assert "统计期末" in str(provider.definition) and "只计一次" in str(provider.definition)
    with pytest.raises(LookupError):
        kpi.get("nobody.nothing")


def test_activation_rate_at_class_and_school_level(world, django_assert_num_queries):
    period = _now_period()
    # Class A1: parent_a1 and grandparent_a1 have accounts, unactivated_a1 has none -> 2 of 3.
    with django_assert_num_queries(1):
        a1 = kpi.get(CODE).compute(period, world.class_a1)
    assert a1 == Figure(Decimal("66.7"), 2, 3)
    # Class A2: parent_a2 and parent_two_schools, both activated.
    assert kpi.get(CODE).compute(period, world.class_a2) == Figure(Decimal("100.0"), 2, 2)
    # School A: the five guardians of its two classes, four activated.
    assert kpi.get(CODE).compute(period, world.school_a) == Figure(Decimal("80.0"), 4, 5)
    # School B: parent_two_schools, counted at each school its children attend.
    assert kpi.get(CODE).compute(period, world.school_b) == Figure(Decimal("100.0"), 1, 1)
    # The district: parent_two_schools once, although two of their children are in it; not the other district's.
    assert kpi.get(CODE).compute(period, world.district) == Figure(Decimal("80.0"), 4, 5)
    assert kpi.get(CODE).compute(period, world.other_district) == Figure(Decimal("100.0"), 1, 1)


def test_the_period_end_bounds_who_is_counted_and_who_had_activated(world):
    period = _now_period()
    later = timezone.now() + dt.timedelta(days=5)
    # A guardian registered after the period: not on the roll yet. An account opened after it: not yet activated.
    late = Guardian.objects.create(district=world.district, name="后来的家长", phone="13900001111")
    Guardian.objects.filter(pk=late.pk).update(created_at=later)
    Guardianship.objects.create(guardian=late, student=world.child_a1, relation=Relation.FATHER)
    world.unactivated_a1.user = make_user("activates_later")
    world.unactivated_a1.save(update_fields=["user"])
    type(world.unactivated_a1.user).objects.filter(pk=world.unactivated_a1.user_id).update(date_joined=later)
    assert kpi.get(CODE).compute(period, world.class_a1) == Figure(Decimal("66.7"), 2, 3)
    # A period that ended before anyone was registered: nobody to count, no rate (not 0 %).
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    assert kpi.get(CODE).compute(Period(yesterday - dt.timedelta(days=7), yesterday), world.class_a1) == Figure(None, 0, 0)


def test_pupils_off_the_roll_and_disabled_guardians_are_not_counted(world):
    period = _now_period()
    Student.objects.filter(pk=world.child_a2.pk).update(is_active=False)  # parent_a2 has no other child
    Guardian.objects.filter(pk=world.guardians["grandparent_a1"].pk).update(is_active=False)
    assert kpi.get(CODE).compute(period, world.class_a1) == Figure(Decimal("50.0"), 1, 2)
    assert kpi.get(CODE).compute(period, world.class_a2) == Figure(None, 0, 0)
    # parent_two_schools still counts at school B through child_b1.
    assert kpi.get(CODE).compute(period, world.school_b) == Figure(Decimal("100.0"), 1, 1)


def test_figure_for_answers_only_for_a_node_the_user_sees(world):
    period = _now_period()
    assert kpi.figure_for(world.school_admin_a, CODE, period, world.class_a1).denominator == 3
    with pytest.raises(Http404):
        kpi.figure_for(world.school_admin_a, CODE, period, world.school_b)  # the neighbouring school
    with pytest.raises(Http404):
        kpi.figure_for(world.teacher_a1, CODE, period, world.class_a2)  # the class next door


def test_provider_and_period_refuse_malformed_declarations():
    with pytest.raises(ValueError):
        KpiProvider(code="nodot", title="x", definition="x", unit="%", compute=lambda p, n: Figure(None))
    with pytest.raises(ValueError):
        Period(dt.date(2026, 9, 1), dt.date(2026, 9, 1))
    assert Figure.rate(1, 3) == Figure(Decimal("33.3"), 1, 3) and Figure.rate(0, 0).value is None
