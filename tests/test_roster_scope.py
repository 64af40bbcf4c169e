"""Scope walk for the roster pages (handed over from tests/test_scope_leaks.py by the "roster/" prefix):
every user of the world against an import job that is not theirs, and against units outside their scope
for export and import, through "roster:job", "roster:job_progress", "roster:job_problems",
"roster:job_commit", "roster:job_discard", "roster:export", "roster:export_parts" and "roster:home"."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.scoping import get_scope
from roster.models import ImportJob, ImportProblem, JobStatus
from roster.testing import template_rows, xlsx_bytes

GET_URLS = ("roster:job", "roster:job_progress", "roster:job_problems")
POST_URLS = ("roster:job_commit", "roster:job_discard")


@pytest.fixture
def job(world):
    job = ImportJob.objects.create(district=world.district, school=world.school_a, created_by=world.school_admin_a,
                                   status=JobStatus.READY, file_name="roster/imports/x.xlsx", original_name="秘密名单.xlsx",
                                   counts={"rows": {"students": 1}})
    ImportProblem.objects.create(job=job, sheet="学生", row=2, column="班级", code="class_unknown", message="机密行内容")
    return job


def test_nobody_but_the_owner_reaches_a_job(client, world, job):
    checks = 0
    for key, user in world.users.items():
        if user == world.school_admin_a:
            continue
        client.force_login(user)
        for name in GET_URLS:
            r = client.get(reverse(name, args=[job.pk]))
            assert r.status_code == 404, (key, name)
            assert "秘密名单" not in r.content.decode() and "机密行内容" not in r.content.decode()
            checks += 1
        for name in POST_URLS:
            assert client.post(reverse(name, args=[job.pk])).status_code == 404, (key, name)
            checks += 1
    job.refresh_from_db()
    assert job.status == JobStatus.READY
    assert checks >= 5 * (len(world.users) - 1)
    client.force_login(world.school_admin_a)
    assert client.get(reverse("roster:job", args=[job.pk])).status_code == 200


def test_export_only_reaches_units_the_user_may_view(client, world):
    units = [u for k, u in world.units.items() if u.kind in ("district", "school", "grade", "class")]
    for key, user in world.users.items():
        scope = get_scope(user)
        client.force_login(user)
        for unit in units:
            r = client.post(reverse("roster:export"), {"scope": unit.pk, "format": "csv"})
            if not scope.has_perm_anywhere("people.view") or scope.is_empty:
                assert r.status_code in (403, 404), (key, unit.name)
            elif scope.can("people.view", unit):
                assert r.status_code == 200, (key, unit.name)
            else:
                assert r.status_code in (403, 404), (key, unit.name)
                parts = client.get(reverse("roster:export_parts"), {"scope": unit.pk})
                assert parts.status_code in (403, 404) or unit.name not in parts.content.decode(), (key, unit.name)


def test_import_only_into_places_the_user_manages(client, world, django_capture_on_commit_callbacks):
    data = xlsx_bytes(template_rows([{"class_name": "七(1)班", "student_name": "越权", "student_no": "X0000000001"}], []))
    for key, user in world.users.items():
        client.force_login(user)
        r = client.get(reverse("roster:home"))
        manages = get_scope(user).can("people.manage", world.school_b)
        if r.status_code == 403:
            continue
        with django_capture_on_commit_callbacks(execute=True):
            client.post(reverse("roster:home"), {"target": f"s:{world.school_b.pk}",
                                                 "file": SimpleUploadedFile("a.xlsx", data)})
        created = ImportJob.objects.filter(created_by=user, school=world.school_b).exists()
        assert created == manages, key
