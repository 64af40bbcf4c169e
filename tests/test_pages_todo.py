"""What the home pages promise each role: home-visit tab, tiles per role, the carer's child, to-do counts
(one query each, counted within the user's own scope) and the care-mode offer to grandparents."""

import pytest
from django.urls import reverse

from gongyu.todo import ToDo
from homeschool import services as homeschool
from notices import services as notices
from tests.test_notices_helpers import login, notice_settings, send  # noqa: F401


def body(client, user, url):
    client.force_login(user)
    r = client.get(url)
    assert r.status_code == 200, (user, url, r.status_code)
    return r.content.decode()


# --- 1. home visits can be reached ------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["teacher_a1", "school_admin_a", "district_admin"])
def test_home_visits_tab_for_those_who_plan_or_follow_visits(client, world, who):
    page = body(client, world.users[who], reverse("homeschool:consultations"))
    assert 'data-testid="tab-visits"' in page and reverse("homeschool:visits") in page
    visits = body(client, world.users[who], reverse("homeschool:visits"))
    assert "家访覆盖" in visits and world.class_a1.name in visits and 'data-testid="tab-visits"' in visits
    # Not for those who neither plan nor follow visits (the list would refuse them).
    for other in ("parent_a1", "subject_teacher_a1", "psych_a"):
        assert 'data-testid="tab-visits"' not in body(client, world.users[other], reverse("homeschool:consultations"))
        assert client.get(reverse("homeschool:visits")).status_code == 403


# --- 2. tiles per role ------------------------------------------------------------------------------------------


SENDER_TEXT = "发通知、看谁还没读、一键提醒"
RECEIVER_TEXT = "查看发给我的通知"


# What the notices tile promises: senders send, staff a notice can be addressed to read, others get no tile.
NOTICE_TILES = {
    "district_admin": "sender", "school_admin_a": "sender", "teacher_a1": "sender",
    "subject_teacher_a1": "recipient", "psych_a": "recipient", "health_vp_a": "recipient", "grid_worker_1": "recipient",
    "liaison": None, "partner_contact": None, "volunteer": None,
}


def test_notices_tile_says_what_each_role_can_do(client, world):
    for who, kind in NOTICE_TILES.items():
        page = body(client, world.users[who], reverse("home"))
        has_tile = 'data-testid="card-notices"' in page
        if kind == "sender":
            assert has_tile and SENDER_TEXT in page and f'href="{reverse("notices:index")}"' in page, who
        elif kind == "recipient":
            assert has_tile and SENDER_TEXT not in page and RECEIVER_TEXT in page, who
            assert f'href="{reverse("notices:inbox")}"' in page, who
        else:
            assert not has_tile and SENDER_TEXT not in page, who


def test_activities_tile_only_for_organisers(client, world):
    for who, shown in [("teacher_a1", True), ("street_staff_1", True), ("grid_worker_1", True), ("liaison", False), ("volunteer", False), ("psych_a", False)]:
        page = body(client, world.users[who], reverse("home"))
        assert ('data-testid="card-activities"' in page) is shown, who


def test_carer_row_leads_to_the_child_and_the_child_page_is_scoped(client, world):
    page = body(client, world.grid_worker_1, reverse("home"))
    child_url = reverse("people:student_detail", args=[world.child_a2.pk])
    assert 'data-testid="carer-child"' in page and f'href="{child_url}"' in page
    child = body(client, world.grid_worker_1, child_url)
    assert world.child_a2.name in child
    # Only the child cared for: a classmate of another class and a child of another school are 404.
    for other in (world.child_a1, world.child_b1):
        assert client.get(reverse("people:student_detail", args=[other.pk])).status_code == 404


# --- 3. to-do counts ----------------------------------------------------------------------------------------------


@pytest.fixture
def five_unread(world, django_capture_on_commit_callbacks):
    """Five notices to class A1 (grandparent_a1 reads none, parent_a1 opens one), one withdrawn, one asking
    for a reply; a notice to class A2 that class A1's families never get."""
    sent = [send(django_capture_on_commit_callbacks, world.teacher_a1, [world.class_a1], title=f"通知{i}") for i in range(5)]
    sent.append(send(django_capture_on_commit_callbacks, world.teacher_a1, [world.class_a1], title="需回执", reply_kind="confirm"))
    withdrawn = send(django_capture_on_commit_callbacks, world.teacher_a1, [world.class_a1], title="撤回的")
    with django_capture_on_commit_callbacks(execute=True):
        notices.notice_withdraw(actor=world.teacher_a1, notice=withdrawn, reason="发错了")
    send(django_capture_on_commit_callbacks, world.teacher_a2, [world.class_a2], title="二班的")
    notices.notice_open(user=world.parent_a1, notice_id=sent[0].pk)
    return sent


def test_unread_and_reply_counts_are_the_familys_own(world, five_unread, django_assert_num_queries):
    grandparent = ToDo(world.grandparent_a1)
    grandparent.scope  # noqa: B018 -- the scope is computed once per request anyway; not what is counted
    with django_assert_num_queries(1):
        assert grandparent.unread_notices == 6
        assert grandparent.notices_awaiting_reply == 1
    assert ToDo(world.parent_a1).unread_notices == 5
    assert ToDo(world.parent_a2).unread_notices == 1  # class A2's notice only
    assert ToDo(world.parent_other).unread_notices == 0


def test_grandparent_sees_the_unread_count_on_the_family_page(client, world, five_unread, django_assert_num_queries):
    client.force_login(world.grandparent_a1)
    client.get(reverse("people:family"))  # warm the session
    with django_assert_num_queries(FAMILY_PAGE_QUERIES):
        page = client.get(reverse("people:family")).content.decode()
    assert page.count('data-testid="todo-dot">6<') == 2  # the 我的通知 tile and the bell in the navigation
    assert 'data-testid="awaiting-reply"' in page and "1 条待回执" in page
    # Another district's family got none of these notices: no dot.
    other = body(client, world.parent_other, reverse("people:family"))
    assert 'data-testid="todo-dot"' not in other and 'data-testid="awaiting-reply"' not in other


# The family page: session, user, scope, children, their links, class teachers, the unread notice counts (one
# query) and the unread messages of the 我的消息 tile (one query).
FAMILY_PAGE_QUERIES = 8


def test_staff_recipient_sees_the_unread_count_on_the_notices_tile(client, world, django_capture_on_commit_callbacks):
    send(django_capture_on_commit_callbacks, world.school_admin_a, [world.school_a], guardians=False, roles=["subject_teacher"], title="教研活动安排")
    page = body(client, world.subject_teacher_a1, reverse("home"))
    tile = page[page.index('data-testid="card-notices"') :]
    assert 'data-testid="todo-dot">1<' in tile[: tile.index("</a>")] and 'data-testid="nav-unread"' in page
    # The sender's tile opens the sent list: no inbox count on it.
    sender = body(client, world.school_admin_a, reverse("home"))
    assert 'data-testid="todo-dot"' not in sender


def _ask(world, guardian, child, subject="作业拖拉"):
    return homeschool.consultation_ask(actor=guardian, student=child, target="teacher", topic="habits", subject=subject, body="每天写到十点。")


def test_consultations_waiting_are_the_teachers_own_class(world, django_assert_num_queries):
    _ask(world, world.parent_a1, world.child_a1)
    answered = _ask(world, world.grandparent_a1, world.child_a1, "已经答复的")
    homeschool.consultation_reply(actor=world.teacher_a1, consultation=answered, body="可以这样试试。")
    _ask(world, world.parent_a2, world.child_a2)  # class A2: teacher_a2's, not teacher_a1's
    teacher = ToDo(world.teacher_a1)
    teacher.scope  # noqa: B018
    with django_assert_num_queries(1):
        assert teacher.consultations_waiting == 1
    assert ToDo(world.teacher_a2).consultations_waiting == 1
    assert ToDo(world.teacher_b1).consultations_waiting == 0
    # A family-only account answers no consultations and pays no query for it.
    parent = ToDo(world.parent_a1)
    parent.scope  # noqa: B018
    with django_assert_num_queries(0):
        assert parent.consultations_waiting == 0


def test_teacher_sees_waiting_consultations_on_the_home_tile_and_nav(client, world, django_assert_num_queries):
    _ask(world, world.parent_a1, world.child_a1)
    _ask(world, world.grandparent_a1, world.child_a1, "第二个问题")
    client.force_login(world.teacher_a1)
    client.get(reverse("home"))
    with django_assert_num_queries(TEACHER_HOME_QUERIES):
        page = client.get(reverse("home")).content.decode()
    tile = page[page.index('data-testid="card-homeschool"') :]
    assert 'data-testid="todo-dot">2<' in tile[: tile.index("</a>")]
    assert 'data-testid="nav-waiting"' in page
    assert f'{reverse("homeschool:consultations")}?status=open' in page
    other = body(client, world.teacher_a2, reverse("home"))
    assert 'data-testid="todo-dot"' not in other and 'data-testid="nav-waiting"' not in other
    # The navigation of other pages has no counts: the password page costs what it did before, and an
    # anonymous visitor's log-in page reads nothing.
    client.force_login(world.teacher_a1)
    client.get(reverse("accounts:password_change"))
    with django_assert_num_queries(PASSWORD_PAGE_QUERIES):
        page = client.get(reverse("accounts:password_change")).content.decode()
    assert 'data-testid="nav-waiting"' not in page
    client.logout()
    client.get(reverse("accounts:login"))
    with django_assert_num_queries(0):
        client.get(reverse("accounts:login"))


# The class teacher's home: session, user, scope, guardian profile, units (the headline figures are cached),
# plus the two to-do counts of the navigation (unread notices, consultations waiting), one query each; the
# 家校沟通 tile reads the same count, not a second query. And whether any in-app message was sent to the
# account (the 我的消息 card is a staff member's only then).
TEACHER_HOME_QUERIES = 8


PASSWORD_PAGE_QUERIES = 4  # session, user, scope, guardian profile: no count


# --- 4. care mode offered to grandparents ---------------------------------------------------------------------------


def test_care_mode_offered_once_to_a_grandparent(client, world):
    page = body(client, world.grandparent_a1, reverse("people:family"))
    assert 'data-testid="care-offer"' in page
    # "Not now" is remembered on the account: no offer again, care mode stays off.
    r = client.post(reverse("accounts:care_mode") + "?next=" + reverse("people:family"), {"care_mode": "0"})
    assert r.status_code == 302
    world.grandparent_a1.refresh_from_db()
    assert world.grandparent_a1.care_mode is False and world.grandparent_a1.care_mode_chosen_at is not None
    assert 'data-testid="care-offer"' not in body(client, world.grandparent_a1, reverse("people:family"))
    # A mother is not asked (she may still turn it on with the button).
    assert 'data-testid="care-offer"' not in body(client, world.parent_a1, reverse("people:family"))


def test_accepting_the_offer_turns_care_mode_on(client, world):
    client.force_login(world.grandparent_a1)
    client.post(reverse("accounts:care_mode"), {"care_mode": "1"})
    client.post(reverse("accounts:care_mode"), {"care_mode": "1"})  # set, not toggled: a double tap keeps it on
    world.grandparent_a1.refresh_from_db()
    assert world.grandparent_a1.care_mode is True
    page = body(client, world.grandparent_a1, reverse("people:family"))
    assert 'data-testid="care-offer"' not in page and 'class="care-mode' in page
