"""Scoping fails loud (docs/decisions/0013): in a request, a scoped model's rows are read only through
.visible_to(user), .system(reason=...) or a related object; anything else raises ScopeError."""

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models
from django.test import RequestFactory
from django.test.utils import isolate_apps

from accounts.backends import PhoneBackend
from core.checks import scoped_manager_check
from core.middleware import StrictScopeMiddleware
from core.scoping import (
    ScopedQuerySet,
    ScopeError,
    has_scoped_manager,
    needs_scoped_manager,
    strict_scope,
    system_scope,
)
from people.models import Guardian, Guardianship, Student

pytestmark = pytest.mark.django_db

SCOPED_MODELS = [m for m in apps.get_models() if has_scoped_manager(m)]


def test_every_model_holding_district_or_personal_data_is_scoped():
    # Discovered from the app registry: a new model with a district foreign key is covered automatically.
    missing = [m._meta.label for m in apps.get_models() if needs_scoped_manager(m) and not has_scoped_manager(m)]
    assert missing == []
    assert len(SCOPED_MODELS) >= 40
    assert scoped_manager_check() == []


EVALUATIONS = {
    "iterate": lambda qs: list(qs),
    "len": lambda qs: len(qs),
    "bool": lambda qs: bool(qs),
    "count": lambda qs: qs.count(),
    "exists": lambda qs: qs.exists(),
    "get": lambda qs: qs.get(pk=1),
    "first": lambda qs: qs.first(),
    "aggregate": lambda qs: qs.aggregate(n=models.Count("pk")),
    "values": lambda qs: list(qs.values("pk")),
    "values_list": lambda qs: list(qs.values_list("pk", flat=True)),
    "in_bulk": lambda qs: qs.in_bulk([1]),
    "iterator": lambda qs: list(qs.iterator()),
    "update": lambda qs: qs.filter(pk=-1).update(**{qs.model._meta.pk.attname: -1}),
    "delete": lambda qs: qs.filter(pk=-1).delete(),
}


@pytest.mark.parametrize("model", SCOPED_MODELS, ids=lambda m: m._meta.label)
def test_an_unscoped_read_of_every_scoped_model_raises_in_a_request(model):
    with strict_scope():
        for name, evaluate in EVALUATIONS.items():
            with pytest.raises(ScopeError):
                evaluate(model._default_manager.all())
            with pytest.raises(ScopeError, match=model._meta.label):
                evaluate(model._default_manager.filter(pk__gte=0))
            assert name  # every way of evaluating was tried


def test_system_and_visible_to_reads_pass(world):
    with strict_scope():
        for evaluate in EVALUATIONS.values():
            for qs in (
                Student.objects.system(reason="a test of the bypass").filter(pk=-1),
                Student.objects.visible_to(world.teacher_a1).filter(pk=-1),
                Student.objects.none(),
            ):
                try:
                    evaluate(qs)
                except Student.DoesNotExist:
                    pass  # get(): evaluated, and found nothing


def test_system_needs_a_reason():
    with pytest.raises(ValueError):
        Student.objects.system(reason="")
    with pytest.raises(ValueError), system_scope(" "):
        pass


def test_visible_to_still_filters_in_strict_mode(world):
    with strict_scope():
        seen = set(Student.objects.visible_to(world.teacher_a1).values_list("pk", flat=True))
        everyone = set(Student.objects.system(reason="the test compares").values_list("pk", flat=True))
    assert world.child_a1.pk in seen
    assert seen < everyone  # a neighbouring class's children are not among them


def test_a_related_manager_and_a_prefetch_read_pass(world):
    with strict_scope():
        child = world.child_a1
        links = list(child.guardianships.all())  # a related manager: the "instance" hint
        assert links and all(isinstance(g, Guardianship) for g in links)
        assert child.guardianships.filter(pk__in=[g.pk for g in links]).count() == len(links)
        guardians = list(
            Guardian.objects.system(reason="the test reads one guardian").filter(pk=links[0].guardian_id)
            .prefetch_related("guardianships")
        )
        assert [g.pk for g in guardians] == [links[0].guardian_id]
        assert guardians[0].guardianships.all()  # prefetched through the relation
        assert links[0].student.pk == child.pk  # forward foreign keys use the plain _base_manager


def test_a_system_context_allows_unscoped_reads_inside_a_request():
    with strict_scope():
        with system_scope("a background task run inside the request"):
            Student.objects.count()
        with pytest.raises(ScopeError):
            Student.objects.count()


def test_outside_any_entry_nothing_is_checked():
    # Migrations, the shell and management commands: no request, no rule.
    Student.objects.count()


def test_a_view_that_reads_unscoped_raises_in_the_request_middleware(world):
    # Every request runs strict: a view that forgets .visible_to fails (its test, or with a 500) instead of
    # leaking another district's rows.
    def leaky(request):
        return Student.objects.all()[0]

    request = RequestFactory().get("/")
    request.user = world.teacher_a1
    with pytest.raises(ScopeError):
        StrictScopeMiddleware(leaky)(request)


def test_unique_validation_and_log_in_work_in_a_request(world):
    # Django's own reads of _default_manager: unique checks (full_clean) and the session's user.
    with strict_scope():
        student = Student(district=world.child_a1.district, school=world.child_a1.school,
                          school_class=world.child_a1.school_class, name="新同学", student_no="S-NEW-1")
        try:
            student.full_clean()
        except ValidationError:
            pass  # whatever it finds, it looked without a ScopeError
        assert PhoneBackend().get_user(world.teacher_a1.pk) == world.teacher_a1


@isolate_apps("core")
def test_the_system_check_fires_for_an_unscoped_model():
    class Unscoped(models.Model):
        district = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")

        class Meta:
            app_label = "core"

    class NoRows(ScopedQuerySet):
        def scope_q(self, scope):
            return None

    class Scoped(models.Model):
        district = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
        objects = NoRows.as_manager()

        class Meta:
            app_label = "core"

    class PersonalUnscoped(models.Model):
        holds_personal_data = True
        name = models.CharField(max_length=10)

        class Meta:
            app_label = "core"

    errors = scoped_manager_check(models=[Unscoped, Scoped, PersonalUnscoped])
    assert [(e.id, e.obj) for e in errors] == [("gongyu.E001", Unscoped), ("gongyu.E001", PersonalUnscoped)]
