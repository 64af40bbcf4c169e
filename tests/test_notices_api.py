"""The notices API: inbox, open = read, reply, sender figures; scope and field rules."""

import datetime as dt
import json

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from ninja.responses import NinjaJSONEncoder

from accounts.models import ApiToken
from messaging.models import GuardianChannel
from notices.api import NoticeOut
from notices.models import NoticeStatus, Priority, Receipt, ReceiptClass, ReplyKind
from people.models import Guardian, Guardianship
from tests.test_notices_helpers import notice_settings, send  # noqa: F401


def bearer(user):
    _token, key = ApiToken.issue(user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


@pytest.fixture
def notice(world, django_capture_on_commit_callbacks):
    return send(django_capture_on_commit_callbacks, world.district_admin, [world.district], reply_kind=ReplyKind.CONSENT,
                audience_note="特殊群体", priority=Priority.IMPORTANT)


def test_inbox_open_and_reply(client, world, notice):
    auth = bearer(world.parent_two_schools)
    inbox = client.get("/api/v1/notices/inbox", **auth).json()
    assert inbox["count"] == 1 and inbox["unread"] == 1
    item = inbox["items"][0]
    assert item["notice_id"] == notice.pk and not item["read"] and item["needs_reply"]
    assert sorted(item["children"]) == sorted([world.child_a2.name, world.child_b1.name])
    opened = client.get(f"/api/v1/notices/{notice.pk}", **auth)
    assert opened.status_code == 200
    body = opened.json()
    assert body["read_at"] and body["reply_options"] == ["agree", "disagree"]
    # Nothing about who else received it or how the audience was picked.
    text = opened.content.decode()
    for leak in ("特殊群体", notice.audience_summary, "parent_a2", "audience", "recipient"):
        assert leak not in text
    assert client.get("/api/v1/notices/inbox?unread=true", **auth).json()["count"] == 0
    bad = client.post(f"/api/v1/notices/{notice.pk}/reply", {"choice": "maybe"}, content_type="application/json", **auth)
    assert bad.status_code == 422 and "同意" in bad.json()["detail"]
    ok = client.post(f"/api/v1/notices/{notice.pk}/reply", {"choice": "disagree", "comment": "那天有事"}, content_type="application/json", **auth)
    assert ok.status_code == 200 and ok.json()["reply"] == "disagree"
    assert Receipt.objects.get(notice=notice, guardian=world.guardians["parent_two_schools"]).reply_comment == "那天有事"


def test_inbox_filter_by_child(client, world, notice, django_capture_on_commit_callbacks):
    other = send(django_capture_on_commit_callbacks, world.teacher_b1, [world.class_b1])
    auth = bearer(world.parent_two_schools)
    ids = [i["notice_id"] for i in client.get(f"/api/v1/notices/inbox?child={world.child_a2.pk}", **auth).json()["items"]]
    assert ids == [notice.pk]
    ids = [i["notice_id"] for i in client.get(f"/api/v1/notices/inbox?child={world.child_b1.pk}", **auth).json()["items"]]
    assert ids == [other.pk, notice.pk]


@pytest.mark.parametrize("user_key", ["parent_other", "outsider", "teacher_b1"])
def test_open_and_reply_404_for_non_recipients(client, world, django_capture_on_commit_callbacks, user_key):
    notice = send(django_capture_on_commit_callbacks, world.teacher_a1, [world.class_a1], reply_kind=ReplyKind.CONFIRM)
    auth = bearer(world.users[user_key])
    assert client.get(f"/api/v1/notices/{notice.pk}", **auth).status_code == 404
    assert client.post(f"/api/v1/notices/{notice.pk}/reply", {"choice": "confirm"}, content_type="application/json", **auth).status_code == 404
    assert not Receipt.objects.filter(read_at__isnull=False).exists()


def test_api_needs_a_token(client, notice):
    assert client.get("/api/v1/notices/inbox").status_code == 401
    assert client.get(f"/api/v1/notices/{notice.pk}").status_code == 401


def test_sender_stats_and_actions(client, world, notice):
    auth = bearer(world.district_admin)
    stats = client.get(f"/api/v1/notices/{notice.pk}/stats", **auth).json()
    assert stats["total"] == 5 and stats["unread"] == 5
    assert {c["class_name"] for c in stats["classes"]} == {"三(1)班", "三(2)班", "七(1)班"}
    sent = client.get("/api/v1/notices/sent", **auth).json()
    assert [n["notice_id"] for n in sent] == [notice.pk]
    teacher = bearer(world.teacher_a1)
    mine = client.get(f"/api/v1/notices/{notice.pk}/stats", **teacher).json()
    assert [c["class_name"] for c in mine["classes"]] == ["三(1)班"] and mine["total"] == 3
    assert client.post(f"/api/v1/notices/{notice.pk}/withdraw", {"reason": "误发"}, content_type="application/json", **teacher).status_code == 403
    assert client.post(f"/api/v1/notices/{notice.pk}/withdraw", {"reason": "误发"}, content_type="application/json", **auth).status_code == 200
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.WITHDRAWN
    parent = bearer(world.parent_a1)
    body = client.get(f"/api/v1/notices/{notice.pk}", **parent).json()
    assert body["withdrawn"] and body["withdraw_reason"] == "误发" and body["body_html"] == ""


@pytest.mark.parametrize("user_key", ["teacher_b1", "parent_a1", "school_admin_b", "other_district_admin"])
def test_stats_404_outside_scope(client, world, django_capture_on_commit_callbacks, user_key):
    notice = send(django_capture_on_commit_callbacks, world.teacher_a1, [world.class_a1])
    auth = bearer(world.users[user_key])
    assert client.get(f"/api/v1/notices/{notice.pk}/stats", **auth).status_code == 404
    assert client.post(f"/api/v1/notices/{notice.pk}/remind", {}, content_type="application/json", **auth).status_code == 404
    assert client.get("/api/v1/notices/sent", **auth).json() == []


def test_remind_api(client, world, notice, django_capture_on_commit_callbacks):
    auth = bearer(world.teacher_a1)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/notices/{notice.pk}/remind", {}, content_type="application/json", **auth)
    assert response.status_code == 202
    assert notice.reminders.get().class_ids == [world.class_a1.pk]
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(f"/api/v1/notices/{notice.pk}/remind", {}, content_type="application/json", **auth)
    assert again.status_code == 422


def test_wechat_bind(client, world):
    auth = bearer(world.parent_a1)
    assert client.post("/api/v1/notices/channels/wechat", {"openid": "bad id!!"}, content_type="application/json", **auth).status_code == 422
    assert client.post("/api/v1/notices/channels/wechat", {"openid": "oAbc_123-xyz7890"}, content_type="application/json", **auth).status_code == 200
    assert GuardianChannel.objects.get(guardian=world.guardians["parent_a1"], channel="wechat").address == "oAbc_123-xyz7890"
    assert client.post("/api/v1/notices/channels/wechat", {"openid": "oAbc_123-xyz7890"}, content_type="application/json", **bearer(world.teacher_a1)).status_code == 404


def test_open_query_count(client, world, notice, django_assert_max_num_queries):
    auth = bearer(world.parent_a1)
    client.get(f"/api/v1/notices/{notice.pk}", **auth)
    with django_assert_max_num_queries(7):
        assert client.get(f"/api/v1/notices/{notice.pk}", **auth).status_code == 200


def test_opening_marks_both_classes_and_names_only_own_children(client, world, notice, django_assert_max_num_queries):


    two = world.guardians["parent_two_schools"]
    receipt = Receipt.objects.get(notice=notice, guardian=two)
    assert ReceiptClass.objects.filter(receipt=receipt, read_at__isnull=True).count() == 1
    auth = bearer(world.parent_two_schools)
    # On PostgreSQL one statement checks the token, finds the receipt and marks it read (the busiest path
    # of the API); the token is new, so noting its first use adds nothing to the call (written in bulk).
    with django_assert_max_num_queries(1 if connection.vendor == "postgresql" else 7) as captured:
        body = client.get(f"/api/v1/notices/{notice.pk}", **auth).json()
    if connection.vendor == "postgresql":
        (query,) = captured.captured_queries
        assert "accounts_apitoken" in query["sql"] and "UPDATE notices_receipt" in query["sql"]
    receipt.refresh_from_db()
    assert body["read_at"] and receipt.read_at is not None
    assert body["children"] == [s.name for s in sorted([world.child_a2, world.child_b1], key=lambda s: s.pk)]
    # The further class counts the read too, at the same moment.
    assert list(ReceiptClass.objects.filter(receipt=receipt).values_list("read_at", flat=True)) == [receipt.read_at]
    # Opening again changes nothing.
    again = client.get(f"/api/v1/notices/{notice.pk}", **auth).json()
    receipt.refresh_from_db()
    assert again["read_at"] == body["read_at"] and Receipt.objects.filter(notice=notice, read_at__isnull=False).count() == 1
    # A child no longer in the guardian's care is not named, even though the receipt lists it.
    Guardianship.objects.filter(guardian=two, student=world.child_b1).delete()
    assert client.get(f"/api/v1/notices/{notice.pk}", **auth).json()["children"] == [world.child_a2.name]


def test_open_response_is_exactly_the_documented_schema(client, world, notice):
    body = client.get(f"/api/v1/notices/{notice.pk}", **bearer(world.parent_a1)).json()
    assert list(body) == list(NoticeOut.model_fields)
    # What ninja would have rendered from the same data (validated through the schema, then its encoder).


    assert json.loads(json.dumps(NoticeOut.model_validate(body).model_dump(), cls=NinjaJSONEncoder)) == body
    assert body["reply_options"] == ["agree", "disagree"] and body["attachments"] == [] and body["withdrawn"] is False


@pytest.mark.parametrize("what", ["guardian_inactive", "user_inactive"])
def test_deactivated_guardian_cannot_open(client, world, notice, what):
    auth = bearer(world.parent_a1)
    if what == "guardian_inactive":
        Guardian.objects.filter(pk=world.guardians["parent_a1"].pk).update(is_active=False)
        expected = 404
    else:
        type(world.parent_a1).objects.filter(pk=world.parent_a1.pk).update(is_active=False)
        expected = 401
    assert client.get(f"/api/v1/notices/{notice.pk}", **auth).status_code == expected
    assert not Receipt.objects.filter(notice=notice, read_at__isnull=False).exists()


@pytest.mark.parametrize("what", ["wrong", "expired", "other_scheme"])
def test_open_refuses_a_bad_token_and_marks_nothing(client, world, notice, what):
    """The open call checks its token inside its own statement on PostgreSQL: a token that fails the rule
    gets the same 401 as on every other call, and nothing is read."""


    auth = bearer(world.parent_a1)
    if what == "wrong":
        auth = {"HTTP_AUTHORIZATION": auth["HTTP_AUTHORIZATION"][:-2] + "xx"}
    elif what == "expired":
        ApiToken.objects.filter(user=world.parent_a1).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    else:
        auth = {"HTTP_AUTHORIZATION": auth["HTTP_AUTHORIZATION"].replace("Bearer", "Basic")}
    answer = client.get(f"/api/v1/notices/{notice.pk}", **auth)
    assert answer.status_code == 401 and answer.json()["detail"]
    assert client.get("/api/v1/notices/inbox", **auth).status_code == 401  # the same verdict as elsewhere
    assert not Receipt.objects.filter(notice=notice, read_at__isnull=False).exists()


def test_open_is_documented_with_the_same_bearer_scheme(client, db):
    doc = client.get("/api/v1/openapi.json").json()
    assert list(doc["components"]["securitySchemes"]) == ["TokenAuth"]
    assert doc["paths"]["/api/v1/notices/{notice_id}"]["get"]["security"] == [{"TokenAuth": []}]


def test_staff_recipient_opens_through_the_api(client, world, django_capture_on_commit_callbacks):
    """A staff member's receipt is not a guardian's: the open call falls back to the general path, without
    looking for a guardian receipt a second time."""

    notice = send(django_capture_on_commit_callbacks, world.district_admin, [world.district], guardians=False,
                  roles=["class_teacher"])
    with CaptureQueriesContext(connection) as captured:
        answer = client.get(f"/api/v1/notices/{notice.pk}", **bearer(world.teacher_a1))
    if connection.vendor == "postgresql":
        assert sum("people_guardian g WHERE g.user_id" in (q["sql"] or "") for q in captured.captured_queries) == 1
    assert answer.status_code == 200 and answer.json()["read_at"] and answer.json()["children"] == []
    assert list(Receipt.objects.filter(notice=notice, read_at__isnull=False).values_list("user_id", flat=True)) == [world.teacher_a1.pk]
    # The token's user, not the notice's sender or another recipient, is who the call acted for.
    assert client.get(f"/api/v1/notices/{notice.pk}", **bearer(world.parent_a1)).status_code == 404


def test_inbox_query_count_does_not_grow(client, world, django_capture_on_commit_callbacks, django_assert_max_num_queries):
    """The API's inbox reads only some columns of each item (selectors.INBOX_FIELDS): nothing it shows
    may need a query per item."""
    send(django_capture_on_commit_callbacks, world.teacher_a1, [world.class_a1], reply_kind=ReplyKind.CONFIRM)
    auth = bearer(world.parent_a1)
    client.get("/api/v1/notices/inbox", **auth)
    with django_assert_max_num_queries(10) as few:
        client.get("/api/v1/notices/inbox", **auth)
    first_count = len(few.captured_queries)
    for i in range(25):
        send(django_capture_on_commit_callbacks, world.teacher_a1, [world.class_a1], title=f"通知{i}", priority=Priority.IMPORTANT)
    with django_assert_max_num_queries(first_count):
        body = client.get("/api/v1/notices/inbox", **auth).json()
    assert len(body["items"]) == 20 and body["count"] == 26 and body["unread"] == 26
    assert all(i["sender"] and i["title"] and i["published_at"] for i in body["items"])


def _synchronous_commit():
    with connection.cursor() as cur:
        cur.execute("SHOW synchronous_commit")
        return cur.fetchone()[0]


@pytest.mark.skipif("postgresql" not in settings.DATABASES["default"]["ENGINE"], reason="synchronous commit is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_read_mark_commits_without_waiting_for_the_disk_and_nothing_else_does(client, world, notice):
    """docs/decisions/0006: the open statement turns synchronous commit off for its own transaction only, so
    a reply or any other write on the same connection afterwards still waits for the disk (PostgreSQL)."""

    assert _synchronous_commit() == "on"
    with transaction.atomic():  # the web page's path (the same statement without the token part)
        opened = Receipt.objects.open_guardian_own(world.parent_a1, notice.pk, timezone.now())
        assert opened is not None and opened.read_at is not None
        assert _synchronous_commit() == "off"  # for the read mark's transaction
    assert _synchronous_commit() == "on"  # and no further
    # The API's path, in autocommit as in production; the reply after it on the same connection is durable.
    auth = bearer(world.parent_two_schools)
    assert client.get(f"/api/v1/notices/{notice.pk}", **auth).status_code == 200
    assert _synchronous_commit() == "on"
    reply = client.post(f"/api/v1/notices/{notice.pk}/reply", {"choice": "agree"}, content_type="application/json", **auth)
    assert reply.status_code == 200
    assert Receipt.objects.filter(notice=notice, read_at__isnull=False).count() == 2
