"""Issue 12: one definition of a notice's figures (a reply implies a read; a household's reply answers
for the family), the same on the page, the list, the API, the export and the reminder log; the class
report as one card per family that opens on 只看未读; the guardian's unread count for the home page."""

import csv
import io
import re

import pytest
from django.urls import reverse

from accounts.models import ApiToken
from core.scoping import get_scope
from notices import selectors, services
from notices.models import Receipt, Reminder, ReplyKind
from people.models import Guardian, Guardianship, Student
from tests.test_notices_helpers import login, notice_settings, send  # noqa: F401


def _page_figures(html: str) -> dict:
    return {k: int(re.search(rf'data-testid="{k}">(\d+)<', html).group(1)) for k in ("total", "read", "unread", "replied")}


def _check_identities(total, read, unread, replied):
    assert read >= replied, (total, read, unread, replied)
    assert unread == total - read, (total, read, unread, replied)


@pytest.fixture
def household_notice(world, django_capture_on_commit_callbacks):
    """A district notice asking one reply per household: the mother of A1 confirms for her family (and
    grandma); the mother with children in two schools confirms; nobody else has opened it."""
    notice = send(django_capture_on_commit_callbacks, world.district_admin, [world.district], reply_kind=ReplyKind.CONFIRM)
    services.notice_reply(user=world.parent_a1, notice_id=notice.pk, choice="confirm")
    services.notice_reply(user=world.parent_two_schools, notice_id=notice.pk, choice="confirm")
    return notice


def test_a_household_reply_answers_for_the_family(world, household_notice, django_capture_on_commit_callbacks):
    grandma = Receipt.objects.get(notice=household_notice, guardian=world.guardians["grandparent_a1"])
    assert grandma.replied_by_household and grandma.read_at is not None  # a reply implies a read
    with django_capture_on_commit_callbacks(execute=True):
        reminder = services.notice_remind(actor=world.district_admin, notice=household_notice)
    reminded = set(Receipt.objects.filter(notice=household_notice, reminder_count=1).values_list("guardian__name", flat=True))
    # Grandma's family has answered: only the father (another household) and the A2 father are reminded.
    assert reminded == {"未激活家长", "parent_a2"}
    reminder.refresh_from_db()
    assert reminder.reminded_count == 2
    report = selectors.class_report(world.teacher_a1, household_notice, world.class_a1, unread_only=True)
    assert [[g.name for g in f.guardians] for f in report["families"]] == [["未激活家长"]]


def test_every_figure_obeys_the_identities_on_page_list_api_and_export(client, world, household_notice):
    services.notice_open(user=world.parent_a2, notice_id=household_notice.pk)
    stats = selectors.notice_stats(world.district_admin, household_notice)
    _check_identities(stats.totals.total, stats.totals.read, stats.totals.unread, stats.totals.replied)
    assert (stats.totals.total, stats.totals.read, stats.totals.replied) == (5, 4, 3)
    for row in [*stats.classes, *stats.schools]:
        _check_identities(row.total, row.read, row.unread, row.replied)
    login(client, world.district_admin)
    page = _page_figures(client.get(reverse("notices:stats", args=[household_notice.pk])).content.decode())
    assert page == {"total": 5, "read": 4, "unread": 1, "replied": 3}
    # The list of sent notices: the same figures as the page.
    listed = selectors.list_figures([household_notice.pk])[household_notice.pk]
    assert (listed.total, listed.read, listed.replied) == (5, 4, 3)
    assert "4/5" in client.get(reverse("notices:index")).content.decode()
    # The API.
    _token, key = ApiToken.issue(user=world.district_admin)
    api = client.get(f"/api/v1/notices/{household_notice.pk}/stats", HTTP_AUTHORIZATION=f"Bearer {key}").json()
    assert (api["total"], api["read"], api["unread"], api["replied"]) == (5, 4, 1, 3)
    for c in api["classes"]:
        _check_identities(c["total"], c["read"], c["unread"], c["replied"])
    # The export: a row per guardian; those with a reply are read.
    body = b"".join(client.get(reverse("notices:export", args=[household_notice.pk]) + "?format=csv").streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == 5 and sum(r["已读"] == "是" for r in rows) == 4 and sum(bool(r["回执"]) for r in rows) == 3
    assert all(r["已读"] == "是" for r in rows if r["回执"])


def test_the_reminder_log_says_how_many_at_once(client, world, household_notice, django_capture_on_commit_callbacks):
    login(client, world.district_admin)
    with django_capture_on_commit_callbacks(execute=False):  # the worker has not run yet
        response = client.post(reverse("notices:remind", args=[household_notice.pk]), follow=True)
    html = response.content.decode()
    assert Reminder.objects.get().reminded_count == 2
    assert "提醒 2 人" in html and "提醒 0 人" not in html and "正在提醒 2 位" in html
    services.run_pending_jobs(household_notice)
    assert Reminder.objects.get().reminded_count == 2
    assert "提醒 2 人" in client.get(reverse("notices:stats", args=[household_notice.pk])).content.decode()


def test_the_remind_button_counts_whom_it_reminds(client, world, household_notice):
    login(client, world.district_admin)
    html = client.get(reverse("notices:stats", args=[household_notice.pk])).content.decode()
    assert "一键提醒未读（2）" in html


def test_class_report_opens_on_unread_as_family_cards(client, world, household_notice):
    login(client, world.teacher_a1)
    url = reverse("notices:class_report", args=[household_notice.pk, world.class_a1.pk])
    html = client.get(url).content.decode()
    assert html.count('data-testid="family-card"') == 1  # the father: the mother's household has answered
    assert 'aria-current="page"' in html.split('data-testid="toggle-unread"')[1].split(">")[0]
    assert 'href="tel:13912345678"' in html and world.parent_a1.phone not in html
    everything = client.get(url + "?all=1").content.decode()
    assert everything.count('data-testid="family-card"') == 2 and world.parent_a1.phone in everything


def test_class_report_calls_only_for_those_who_may_see_phones(client, world, household_notice):
    login(client, world.district_admin)  # no people.view_contact
    html = client.get(reverse("notices:class_report", args=[household_notice.pk, world.class_a1.pk])).content.decode()
    assert "tel:" not in html and "13912345678" not in html and "139****5678" in html


def test_class_report_is_paged(client, world, django_capture_on_commit_callbacks):
    for i in range(25):
        st = Student.objects.create(district=world.district, school=world.school_a, school_class=world.class_a1, name=f"学生{i:02d}", student_no=f"P{i:03d}")
        g = Guardian.objects.create(district=world.district, name=f"家长{i:02d}", phone=f"1370000{i:04d}")
        Guardianship.objects.create(guardian=g, student=st, relation="mother")
    notice = send(django_capture_on_commit_callbacks, world.teacher_a1, [world.class_a1])
    login(client, world.teacher_a1)
    url = reverse("notices:class_report", args=[notice.pk, world.class_a1.pk])
    first = client.get(url).content.decode()
    assert first.count('data-testid="family-card"') == selectors.REPORT_PAGE and 'data-testid="pager"' in first
    second = client.get(url + "?page=2").content.decode()
    assert second.count('data-testid="family-card"') == 27 - selectors.REPORT_PAGE  # 25 + the two families of A1


def test_the_red_dot_count_is_the_inbox_count_in_one_query(world, household_notice, django_assert_num_queries, django_capture_on_commit_callbacks):
    send(django_capture_on_commit_callbacks, world.teacher_a1, [world.class_a1], title="第二条")

    get_scope(world.grandparent_a1)  # the request has its scope already
    with django_assert_num_queries(1):
        n = selectors.unread_counts(world.grandparent_a1)["unread"]
    assert n == selectors.inbox(world.grandparent_a1)["unread"] == 1  # the household replied the first
