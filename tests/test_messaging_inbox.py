"""The recipient's messages (/messages/, /api/v1/messages): what consultation replies, micro-guides and waitlist
promotions send in-app reaches the person they were sent to, and no one else — not the neighbouring family in
another class, school or district, not the other guardian of the same household, not staff, not an operator.
Opening marks read and goes only to a page of this site; the red dot is one query."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken, User
from activities import services as activities
from activities.models import SignUpStatus
from activities.testing import make_activity
from gongyu.todo import ToDo
from homeschool import services as homeschool
from messaging import selectors
from messaging.models import Delivery, Message
from messaging.services import Note, notify
from people.models import Guardian, Guardianship, Relation
from tests.test_notices_helpers import notice_settings  # noqa: F401 - memory gateways, quiet hours off

NEIGHBOURS = ("grandparent_a1", "parent_a2", "parent_two_schools", "parent_other", "teacher_a1", "outsider")


def _send(recipient, title, *, link="/messages/", source="test:1", body="正文", key=None, channels=("inapp",)):
    notify([recipient], Note(title=title, body=body, link=link, source=source), channels=channels, key=key or f"k:{title}")
    return Delivery.objects.filter(message__key=key or f"k:{title}", channel="inapp").order_by("-id").first()


@pytest.fixture
def mail(world):
    """parent_a1 has two messages as a guardian and one to the account; each neighbour has one of their own."""
    g = world.guardians
    own = {
        "reply": _send(g["parent_a1"], "〔回复a1〕", source="consultation:1", body="老师回复了您的问题。", link="/homeschool/consultations/1/"),
        "guide": _send(g["parent_a1"], "〔指南a1〕", source="guide:2", link="/homeschool/guides/2/"),
        "account": _send(world.parent_a1, "〔账号a1〕", source="activity:3", link=""),
    }
    # A push row of parent_a1's (SMS) is not a message in the list.
    notify([g["parent_a1"]], Note(title="〔短信a1〕", source="test:sms"), channels=("sms",), key="sms-a1")
    theirs = {who: _send(world.guardians[who] if who in g else world.users[who], f"〔{who}〕", key=f"k-{who}") for who in NEIGHBOURS}
    return own, theirs


def _tile(page, testid):
    """The <a> element carrying this data-testid."""
    at = page.index(f'data-testid="{testid}"')
    start = page.rindex("<a ", 0, at)
    return page[start : page.index("</a>", at)]


def _page(client, user, url=None, **kw):
    client.force_login(user)
    r = client.get(url or reverse("messaging:inbox"), **kw)
    assert r.status_code == 200, r.status_code
    return r.content.decode()


# --- the list ------------------------------------------------------------------------------------------------


def test_the_list_shows_the_users_own_messages_newest_first(client, world, mail):
    own, _theirs = mail
    Delivery.objects.filter(pk=own["reply"].pk).update(created_at=timezone.now() - dt.timedelta(days=1))
    page = _page(client, world.parent_a1)
    # As the guardian and as the account, newest first; the SMS row is no message here.
    order = [page.index(t) for t in ("〔账号a1〕", "〔指南a1〕", "〔回复a1〕")]
    assert order == sorted(order) and "〔短信a1〕" not in page
    assert page.count('data-testid="message-item"') == 3
    assert 'data-testid="unread-count">3<' in page and 'data-testid="read-all"' in page
    # Source tags in Chinese, from the source label's prefix; a short body; a local time.
    assert ">咨询<" in page and ">微指南<" in page and ">活动<" in page
    assert "老师回复了您的问题。" in page and "昨天 " in page and "今天 " in page
    assert reverse("messaging:open", args=[own["reply"].pk]) in page
    for who in NEIGHBOURS:
        assert f"〔{who}〕" not in page


@pytest.mark.parametrize("who", NEIGHBOURS)
def test_a_neighbour_sees_none_of_them(client, world, mail, who):
    page = _page(client, world.users[who])
    assert f"〔{who}〕" in page  # their own
    for title in ("〔回复a1〕", "〔指南a1〕", "〔账号a1〕"):
        assert title not in page
    assert page.count('data-testid="message-item"') == 1


def test_an_operator_reads_only_their_own(world, mail):
    # visible_to lets a superuser read every row; a list of messages is still a person's own mail.
    root = User.objects.create_superuser("13700000001", "x", name="运维")
    assert not selectors.own_messages(root).exists()
    _send(root, "〔运维〕")
    assert [d.message.title for d in selectors.own_messages(root)] == ["〔运维〕"]


def test_a_guardian_without_an_account_gets_them_on_activation(client, world):
    # Messages to a guardian record wait for its account: they are theirs from the first log-in.
    waiting = world.guardians["unactivated_a1"]
    _send(waiting, "〔待激活〕")
    user = User.objects.create_user("13912345678", "x", name="未激活家长")
    Guardian.objects.filter(pk=waiting.pk).update(user=user)
    assert "〔待激活〕" in _page(client, user)


def test_empty_state_says_what_will_appear_here(client, world):
    page = _page(client, world.parent_a2)
    assert 'data-testid="no-messages"' in page and "暂时没有消息" in page
    assert "老师回复了您的咨询" in page and "家庭教育微指南" in page and "候补" in page
    assert 'data-testid="read-all"' not in page
    # Not a dead end: the notices, and where a family's messages come from.
    steps = page[page.index('data-testid="next-steps"') :]
    for name in ("notices:inbox", "homeschool:consultations", "homeschool:guides"):
        assert f'href="{reverse(name)}"' in steps, name
    # Staff are not sent to ask the teacher.
    page = _page(client, world.teacher_a1)
    assert 'data-testid="no-messages"' in page and f'href="{reverse("notices:inbox")}"' in page
    assert f'href="{reverse("homeschool:consultations")}"' not in page[page.index('data-testid="next-steps"') :]


def test_pages_of_twenty_and_more_on_request(client, world, django_assert_max_num_queries):
    g = world.guardians["parent_a1"]
    start = timezone.now()
    for i in range(25):
        d = _send(g, f"〔第{i:02d}条〕")
        Delivery.objects.filter(pk=d.pk).update(created_at=start - dt.timedelta(minutes=i))
    first = _page(client, world.parent_a1)
    assert first.count('data-testid="message-item"') == 20
    assert "〔第00条〕" in first and "〔第19条〕" in first and "〔第20条〕" not in first
    assert 'data-testid="more"' in first and "?page=2" in first
    second = _page(client, world.parent_a1, reverse("messaging:inbox") + "?page=2")
    assert second.count('data-testid="message-item"') == 5 and "〔第24条〕" in second and "〔第00条〕" not in second
    assert 'data-testid="more"' not in second
    # 加载更多 through HTMX: the next rows only, no page around them.
    rows = _page(client, world.parent_a1, reverse("messaging:inbox") + "?page=2", HTTP_HX_REQUEST="true")
    assert rows.count('data-testid="message-item"') == 5 and "<html" not in rows
    # Nonsense page numbers give a page, not an error.
    for bad in ("abc", "0", "99999999999999999999999"):
        assert client.get(reverse("messaging:inbox"), {"page": bad}).status_code == 200
    # The list's queries do not grow with its rows.
    with django_assert_max_num_queries(LIST_QUERIES):
        client.get(reverse("messaging:inbox"))


# session, user, scope, guardian profile, the unread count, the paginator's count, the page's rows.
LIST_QUERIES = 7


def test_anonymous_is_sent_to_log_in(client, world, mail):
    own, _theirs = mail
    for url in (reverse("messaging:inbox"), reverse("messaging:open", args=[own["reply"].pk])):
        r = client.get(url)
        assert r.status_code == 302 and r["Location"].startswith(reverse(settings.LOGIN_URL))
    r = client.post(reverse("messaging:read_all"))
    assert r.status_code == 302 and r["Location"].startswith(reverse(settings.LOGIN_URL))
    assert Delivery.objects.filter(read_at__isnull=False).count() == 0


# --- opening -----------------------------------------------------------------------------------------------


def test_opening_marks_read_and_goes_to_the_messages_page_on_this_site(client, world, mail):
    own, _theirs = mail
    client.force_login(world.parent_a1)
    r = client.get(reverse("messaging:open", args=[own["guide"].pk]))
    assert r.status_code == 302 and r["Location"] == "/homeschool/guides/2/"
    opened = Delivery.objects.get(pk=own["guide"].pk)
    assert opened.read_at is not None and opened.status == "delivered"  # read is its own field, not a status
    first_read = opened.read_at
    client.get(reverse("messaging:open", args=[own["guide"].pk]))
    assert Delivery.objects.get(pk=own["guide"].pk).read_at == first_read  # the first time is kept
    page = _page(client, world.parent_a1)
    assert 'data-testid="unread-count">2<' in page
    # Only this one: the other messages stay unread.
    assert Delivery.objects.filter(pk__in=[own["reply"].pk, own["account"].pk], read_at__isnull=True).count() == 2


def test_a_message_without_a_link_is_shown_itself(client, world, mail):
    own, _theirs = mail
    page = _page(client, world.parent_a1, reverse("messaging:open", args=[own["account"].pk]))
    assert 'data-testid="message"' in page and "〔账号a1〕" in page and "正文" in page and ">活动<" in page
    assert Delivery.objects.get(pk=own["account"].pk).read_at is not None
    assert 'data-testid="read-aloud"' not in page
    # In care mode a grandparent can have it read aloud, as a notice.
    world.parent_a1.care_mode = True
    world.parent_a1.save(update_fields=["care_mode"])
    page = _page(client, world.parent_a1, reverse("messaging:open", args=[own["account"].pk]))
    assert 'data-testid="read-aloud"' in page and 'data-read-aloud="#message-speech"' in page


@pytest.mark.parametrize("link", [
    "https://evil.example/phish", "//evil.example/phish", "/\\evil.example", "javascript:alert(1)", "/\tevil",
    "/no/such/page/", "homeschool/guides/2/", "http:/homeschool/guides/2/",
])
def test_a_link_off_this_site_is_never_followed(client, world, link):
    d = _send(world.guardians["parent_a1"], "〔可疑链接〕", link=link, body="<script>alert(1)</script>")
    page = _page(client, world.parent_a1, reverse("messaging:open", args=[d.pk]))
    assert 'data-testid="message"' in page and "evil" not in page.replace("〔可疑链接〕", "")
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page  # plain text, escaped
    assert Delivery.objects.get(pk=d.pk).read_at is not None


def test_a_link_keeps_its_query_and_fragment(client, world):
    d = _send(world.guardians["parent_a1"], "〔带参数〕", link="/notices/inbox/?unread=1#top")
    client.force_login(world.parent_a1)
    assert client.get(reverse("messaging:open", args=[d.pk]))["Location"] == "/notices/inbox/?unread=1#top"


@pytest.mark.parametrize("who", NEIGHBOURS)
def test_someone_elses_message_answers_404_and_stays_unread(client, world, mail, who):
    own, _theirs = mail
    client.force_login(world.users[who])
    for d in own.values():
        assert client.get(reverse("messaging:open", args=[d.pk])).status_code == 404
    assert not Delivery.objects.filter(read_at__isnull=False).exists()


def test_a_push_row_and_nonsense_ids_answer_404(client, world, mail):
    sms = Delivery.objects.get(message__key="sms-a1")
    client.force_login(world.parent_a1)
    assert client.get(reverse("messaging:open", args=[sms.pk])).status_code == 404
    assert client.get("/messages/99999999999999999999999/").status_code == 404
    assert client.get("/messages/0/").status_code == 404


def test_one_message_to_the_account_and_the_guardian_record_is_read_once_for_both(client, world):
    g = world.guardians["parent_a1"]
    notify([g, world.parent_a1], Note(title="〔两份〕", source="test:2"), key="both")
    rows = list(Delivery.objects.filter(message__key="both"))
    assert len(rows) == 2
    client.force_login(world.parent_a1)
    client.get(reverse("messaging:open", args=[rows[0].pk]))
    assert not Delivery.objects.filter(message__key="both", read_at__isnull=True).exists()


# --- mark all read --------------------------------------------------------------------------------------------


def test_mark_all_read_marks_the_users_own_only(client, world, mail):
    own, theirs = mail
    client.force_login(world.parent_a1)
    assert client.get(reverse("messaging:read_all")).status_code == 405  # a write is a POST
    r = client.post(reverse("messaging:read_all"), follow=True)
    assert r.redirect_chain[-1][0] == reverse("messaging:inbox")
    page = r.content.decode()
    assert "已全部标为已读" in page and 'data-testid="unread-count"' not in page and 'data-testid="read-all"' not in page
    assert not Delivery.objects.filter(pk__in=[d.pk for d in own.values()], read_at__isnull=True).exists()
    assert Delivery.objects.filter(pk__in=[d.pk for d in theirs.values()], read_at__isnull=True).count() == len(NEIGHBOURS)
    # The grandparent of the same household marks all read: parent_a1's are not touched by it.
    Delivery.objects.filter(pk__in=[d.pk for d in own.values()]).update(read_at=None)
    client.force_login(world.grandparent_a1)
    client.post(reverse("messaging:read_all"))
    assert Delivery.objects.filter(pk__in=[d.pk for d in own.values()], read_at__isnull=True).count() == 3


# --- the red dot ------------------------------------------------------------------------------------------------


def test_unread_count_is_the_users_own_in_one_query(world, mail, django_assert_num_queries):
    parent = ToDo(world.parent_a1)
    parent.scope  # noqa: B018 -- the scope is computed once per request anyway; not what is counted
    with django_assert_num_queries(1):
        assert parent.unread_messages == 3
        assert parent.unread_messages == 3  # asked again (the tile and its dot): no second query
    for who in NEIGHBOURS:
        assert ToDo(world.users[who]).unread_messages == 1, who
    assert ToDo(None).unread_messages == 0


def test_the_family_page_where_a_parent_lands_shows_the_tile_with_its_dot(client, world, mail):
    client.force_login(world.parent_a1)
    r = client.get("/", follow=True)
    assert r.redirect_chain[-1][0] == reverse("people:family")  # a guardian's home is the family page
    tile = _tile(r.content.decode(), "tile-messaging")
    assert f'href="{reverse("messaging:inbox")}"' in tile and "我的消息" in tile and 'data-testid="todo-dot">3<' in tile
    # Read them all: the tile stays, without a dot.
    client.post(reverse("messaging:read_all"))
    assert 'data-testid="todo-dot"' not in _tile(client.get(reverse("people:family")).content.decode(), "tile-messaging")
    # A family with nothing yet still has the tile: it is where replies and guides will come.
    assert 'data-testid="tile-messaging"' in _page(client, world.parent_a2, reverse("people:family"))


def test_staff_get_the_card_on_the_workspace_once_something_was_sent_to_them(client, world):
    assert 'data-testid="card-messaging"' not in _page(client, world.teacher_b1, reverse("home"))
    _send(world.teacher_b1, "〔给老师〕")
    card = _tile(_page(client, world.teacher_b1, reverse("home")), "card-messaging")
    assert f'href="{reverse("messaging:inbox")}"' in card and "我的消息" in card
    assert "活动、咨询回复等站内消息" in card and 'data-testid="todo-dot">1<' in card
    # A teacher who is also a parent lands on the workspace: the card is there for the family side too.
    g = Guardian.objects.create(district=world.district, user=world.teacher_a2, name="teacher_a2", phone=world.teacher_a2.phone)
    Guardianship.objects.create(guardian=g, student=world.child_a1, relation=Relation.FATHER)
    _send(g, "〔给老师家长〕")
    assert 'data-testid="todo-dot">1<' in _tile(_page(client, world.teacher_a2, reverse("home")), "card-messaging")
    assert "〔给老师家长〕" in _page(client, world.teacher_a2)


# --- what the platform's clients send ----------------------------------------------------------------------------


def test_a_consultation_reply_a_guide_and_a_promotion_reach_the_familys_list(client, world, django_capture_on_commit_callbacks):
    consultation = homeschool.consultation_ask(actor=world.parent_a1, student=world.child_a1, target="teacher", topic="habits",
                                               subject="〔作业拖拉〕", body="每天写到十点。")
    homeschool.consultation_reply(actor=world.teacher_a1, consultation=consultation, body="可以先定时间。")
    with django_capture_on_commit_callbacks(execute=True):
        guide = homeschool.guide_publish(actor=world.teacher_a1, author_unit=world.class_a1, title="〔陪写作业〕", body="<p>先定时间。</p>",
                                         topic="habits", summary="先定时间、再陪开头。")
    _activity, session = make_activity(actor=world.school_admin_a, owner=world.school_a, capacity=1, title="〔亲子阅读会〕")
    first = activities.signup_create(actor=world.parent_a2, session_id=session.pk, include_self=True, student_ids=[])
    waiting = activities.signup_create(actor=world.parent_a1, session_id=session.pk, include_self=False, student_ids=[world.child_a1.pk])
    assert waiting.status == SignUpStatus.WAITLISTED
    with django_capture_on_commit_callbacks(execute=True):
        activities.signup_cancel(actor=world.parent_a2, signup_id=first.pk)

    page = _page(client, world.parent_a1)
    for title, tag in (("〔作业拖拉〕", "咨询"), ("〔陪写作业〕", "微指南"), ("〔亲子阅读会〕", "活动")):
        assert f">{tag}<" in _tile(page[page.rindex("<a ", 0, page.index(title)) :], "message-item"), title
    assert "先定时间、再陪开头。" in page  # the guide's summary as the short body
    reply = Delivery.objects.get(guardian=world.guardians["parent_a1"], channel="inapp", source=f"consultation:{consultation.pk}")
    r = client.get(reverse("messaging:open", args=[reply.pk]))
    assert r["Location"] == reverse("homeschool:consultation", args=[consultation.pk])
    assert client.get(r["Location"]).status_code == 200  # where it points opens for its recipient
    guide_row = Delivery.objects.get(guardian=world.guardians["parent_a1"], channel="inapp", source=f"guide:{guide.pk}")
    assert client.get(reverse("messaging:open", args=[guide_row.pk]))["Location"] == reverse("homeschool:guide", args=[guide.pk])
    # Class A2's family got the guide of class A1 from nobody, and the promotion was not theirs.
    other = _page(client, world.parent_a2)
    assert "〔陪写作业〕" not in other and "〔作业拖拉〕" not in other and "〔亲子阅读会〕" not in other


def test_the_page_in_english(client, world, mail):
    client.force_login(world.parent_a1)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(reverse("messaging:inbox")).content.decode()
    assert "My messages" in page and "Mark all as read" in page and ">Consultation<" in page and "Today " in page
    assert "我的消息" not in page and "全部标为已读" not in page


# --- API ------------------------------------------------------------------------------------------------------


def _api(user):
    _token, key = ApiToken.issue(user=user)
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def test_api_lists_the_users_own_messages(world, mail):
    own, _theirs = mail
    Delivery.objects.filter(pk=own["reply"].pk).update(created_at=timezone.now() - dt.timedelta(days=1))
    r = _api(world.parent_a1).get("/api/v1/messages")
    assert r.status_code == 200
    data = r.json()
    assert data["count"] == 3 and data["unread"] == 3 and data["page"] == 1 and data["page_size"] == 20
    assert [m["title"] for m in data["items"]] == ["〔账号a1〕", "〔指南a1〕", "〔回复a1〕"]
    reply = data["items"][-1]
    assert reply == {**reply, "id": own["reply"].pk, "source": "consultation", "source_label": "咨询", "read": False, "read_at": None,
                     "link": "/homeschool/consultations/1/", "body": "老师回复了您的问题。"}
    for who in NEIGHBOURS:
        titles = [m["title"] for m in _api(world.users[who]).get("/api/v1/messages").json()["items"]]
        assert titles == [f"〔{who}〕"], who


def test_api_never_hands_out_a_link_off_this_site(world):
    _send(world.guardians["parent_a1"], "〔外链〕", link="//evil.example/x")
    assert _api(world.parent_a1).get("/api/v1/messages").json()["items"][0]["link"] == ""


def test_api_pages(world):
    for i in range(5):
        _send(world.guardians["parent_a1"], f"〔第{i}条〕")
    api = _api(world.parent_a1)
    data = api.get("/api/v1/messages", {"page": 2, "page_size": 2}).json()
    assert data["count"] == 5 and len(data["items"]) == 2
    assert api.get("/api/v1/messages", {"page": 99}).json()["items"] == []
    assert api.get("/api/v1/messages", {"page_size": 101}).status_code == 422


def test_api_read_marks_own_only(world, mail):
    own, theirs = mail
    api = _api(world.parent_a1)
    r = api.post(f"/api/v1/messages/{own['reply'].pk}/read")
    assert r.status_code == 200 and r.json()["read"] is True and r.json()["read_at"]
    assert api.get("/api/v1/messages").json()["unread"] == 2
    for who in NEIGHBOURS:
        r = api.post(f"/api/v1/messages/{theirs[who].pk}/read")
        assert r.status_code == 404 and "〔" not in r.content.decode(), who
        r = _api(world.users[who]).post(f"/api/v1/messages/{own['guide'].pk}/read")
        assert r.status_code == 404, who
    assert not Delivery.objects.filter(pk__in=[d.pk for d in theirs.values()], read_at__isnull=False).exists()
    assert Delivery.objects.get(pk=own["guide"].pk).read_at is None
    assert api.get("/api/v1/messages/1/read").status_code == 405


def test_api_read_all_marks_own_only(world, mail):
    own, theirs = mail
    r = _api(world.parent_a1).post("/api/v1/messages/read-all")
    assert r.status_code == 200 and r.json() == {"marked": 3, "unread": 0}
    assert Delivery.objects.filter(pk__in=[d.pk for d in theirs.values()], read_at__isnull=True).count() == len(NEIGHBOURS)


def test_api_needs_a_token(client, world, mail):
    own, _theirs = mail
    client.force_login(world.parent_a1)  # a web session does not sign the API in
    for method, url in (("get", "/api/v1/messages"), ("post", f"/api/v1/messages/{own['reply'].pk}/read"),
                        ("post", "/api/v1/messages/read-all")):
        assert getattr(client, method)(url).status_code == 401
        assert getattr(Client(HTTP_AUTHORIZATION="Bearer gy_made-up"), method)(url).status_code == 401
    assert not Delivery.objects.filter(read_at__isnull=False).exists()
    assert Message.objects.count() == len(NEIGHBOURS) + 4
