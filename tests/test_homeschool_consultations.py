"""Consultations: a private thread between a guardian and the class teacher or the expert pool;
first-reply time on school days; anonymised FAQ entries."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken
from audit.models import AuditEvent
from homeschool import services
from homeschool.models import FAQ, Consultation, ConsultStatus, Expert
from tests.test_notices_helpers import login, notice_settings  # noqa: F401

TZ = ZoneInfo("Asia/Shanghai")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def ask(user, student, target="teacher", **kw):
    return services.consultation_ask(actor=user, student=student, target=target, subject=kw.get("subject", "孩子写作业拖拉怎么办？"),
                                     body=kw.get("body", "每天要写到十点。"), topic=kw.get("topic", "habits"), attachment=kw.get("attachment"))


def test_school_hours_skip_weekends():
    fri = dt.datetime(2026, 3, 6, 16, 0, tzinfo=TZ)  # Friday 16:00
    mon = dt.datetime(2026, 3, 9, 10, 0, tzinfo=TZ)  # Monday 10:00
    assert services.school_hours(fri, mon) == 18.0  # 8 h on Friday + 10 h on Monday
    assert services.school_hours(mon, fri) == 0.0
    # 24 school hours before Monday 10:00: Monday's 10 h, the weekend skipped, Friday from 10:00 to midnight.
    assert services.school_hours_before(mon, 24) == dt.datetime(2026, 3, 6, 10, 0, tzinfo=TZ)
    assert services.school_hours(services.school_hours_before(mon, 24), mon) == 24.0


def test_guardian_asks_class_teacher_privately(client, world):
    login(client, world.parent_a1)
    response = client.post(
        reverse("homeschool:consultation_new"),
        {"student": world.child_a1.pk, "target": "teacher", "topic": "habits", "subject": "作业拖拉", "body": "每天写到十点。",
         "attachment": SimpleUploadedFile("作业.png", PNG)},
    )
    item = Consultation.objects.get()
    assert response.status_code == 302 and item.school_class == world.class_a1 and item.status == ConsultStatus.OPEN
    assert item.messages.get().attachment_name == "作业.png"
    assert AuditEvent.objects.filter(action="homeschool.consult_ask").count() == 1
    # Who can see the thread: the guardian and the class teacher. Not the grandmother, other teachers,
    # the school admin (figures only), or other families.
    login(client, world.teacher_a1)
    assert client.get(reverse("homeschool:consultation", args=[item.pk])).status_code == 200
    for key in ("grandparent_a1", "teacher_a2", "school_admin_a", "subject_teacher_a1", "parent_a2", "district_admin", "outsider"):
        login(client, world.users[key])
        assert client.get(reverse("homeschool:consultation", args=[item.pk])).status_code == 404, key
        msg = item.messages.get()
        assert client.get(reverse("homeschool:message_attachment", args=[msg.pk])).status_code == 404, key
        assert client.post(reverse("homeschool:consultation", args=[item.pk]), {"body": "插话"}).status_code == 404, key
    assert item.messages.count() == 1


def test_cannot_ask_about_someone_elses_child(client, world):
    with pytest.raises(PermissionDenied):
        ask(world.parent_a1, world.child_a2)
    login(client, world.parent_a1)
    response = client.post(reverse("homeschool:consultation_new"), {"student": world.child_a2.pk, "target": "teacher", "topic": "other", "subject": "x", "body": "y"})
    assert response.status_code == 200 and not Consultation.objects.exists()


def test_first_reply_time_is_recorded_once(world, monkeypatch):
    fri = dt.datetime(2026, 3, 6, 16, 0, tzinfo=TZ)
    monkeypatch.setattr(timezone, "now", lambda: fri)
    item = ask(world.parent_a1, world.child_a1)
    Consultation.objects.filter(pk=item.pk).update(created_at=fri)
    mon = dt.datetime(2026, 3, 9, 9, 0, tzinfo=TZ)
    monkeypatch.setattr(timezone, "now", lambda: mon)
    services.consultation_reply(actor=world.teacher_a1, consultation=item, body="建议先定计划。")
    item.refresh_from_db()
    assert item.status == ConsultStatus.ANSWERED and item.first_reply_hours == 17.0 and item.first_reply_by == world.teacher_a1
    services.consultation_reply(actor=world.parent_a1, consultation=item, body="谢谢，还有一个问题。")
    item.refresh_from_db()
    assert item.status == ConsultStatus.OPEN
    later = dt.datetime(2026, 3, 10, 9, 0, tzinfo=TZ)
    monkeypatch.setattr(timezone, "now", lambda: later)
    services.consultation_reply(actor=world.teacher_a1, consultation=item, body="好的。")
    item.refresh_from_db()
    assert item.first_reply_hours == 17.0 and item.first_reply_at == mon


def test_expert_pool_answers_expert_questions(client, world):
    Expert.objects.create(district=world.district, user=world.volunteer, title="家庭教育指导师")
    item = ask(world.parent_two_schools, world.child_b1, target="expert")
    login(client, world.volunteer)
    assert client.get(reverse("homeschool:consultation", args=[item.pk])).status_code == 200
    client.post(reverse("homeschool:consultation", args=[item.pk]), {"body": "可以试试番茄钟。"})
    item.refresh_from_db()
    assert item.status == ConsultStatus.ANSWERED
    assert "区家庭教育专家" in item.messages.last().author_label
    # The class teacher does not see a question put to the experts; a removed expert no longer does.
    login(client, world.teacher_b1)
    assert client.get(reverse("homeschool:consultation", args=[item.pk])).status_code == 404
    Expert.objects.update(is_active=False)
    login(client, world.volunteer)
    assert client.get(reverse("homeschool:consultation", args=[item.pk])).status_code == 404


def test_school_admin_sees_reply_times_not_threads(client, world, monkeypatch):
    now = timezone.now()
    answered = ask(world.parent_a1, world.child_a1, subject="问题一")
    services.consultation_reply(actor=world.teacher_a1, consultation=answered, body="答复")
    late = ask(world.parent_a2, world.child_a2, subject="问题二")
    Consultation.objects.filter(pk=late.pk).update(created_at=now - dt.timedelta(days=10))
    login(client, world.school_admin_a)
    response = client.get(reverse("homeschool:reply_times"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="overdue">1<' in html
    assert "问题一" not in html and "问题二" not in html
    totals = response.context["totals"]
    assert (totals.total, totals.answered, totals.on_time) == (2, 1, 1)
    login(client, world.teacher_a1)
    assert client.get(reverse("homeschool:reply_times")).status_code == 403
    login(client, world.school_admin_b)
    assert client.get(reverse("homeschool:reply_times")).context["totals"].total == 0


def test_answer_becomes_anonymised_faq(client, world):
    item = ask(world.parent_a1, world.child_a1, body=f"我是{world.guardians['parent_a1'].name}，{world.child_a1.name}在三(1)班，电话13812345678。")
    services.consultation_reply(actor=world.teacher_a1, consultation=item, body=f"{world.child_a1.name}妈妈您好，东城实验小学有课后辅导。")
    login(client, world.teacher_a1)
    page = client.get(reverse("homeschool:faq_new") + f"?from={item.pk}")
    draft = page.context["form"].initial
    for secret in (world.child_a1.name, "parent_a1", "13812345678", "三(1)班", "东城实验小学"):
        assert secret not in draft["question"] + draft["answer"], secret
    assert draft["stage"] == "primary_lower"
    client.post(reverse("homeschool:faq_new"), {"from": item.pk, "question": draft["question"], "answer": draft["answer"], "stage": "primary_lower", "topic": "habits"})
    faq = FAQ.objects.get()
    assert faq.source == item and faq.is_published
    login(client, world.parent_two_schools)  # another family of the district finds it
    assert "课后辅导" in client.get(reverse("homeschool:faq") + "?q=辅导").content.decode()
    login(client, world.parent_other)  # another district does not
    assert "课后辅导" not in client.get(reverse("homeschool:faq")).content.decode()
    # A guardian cannot write FAQ entries.
    login(client, world.parent_a1)
    assert client.get(reverse("homeschool:faq_new")).status_code == 403


def test_closed_thread_takes_no_more_messages(world):
    item = ask(world.parent_a1, world.child_a1)
    services.consultation_close(actor=world.parent_a1, consultation=item)
    with pytest.raises(ValidationError):
        services.consultation_reply(actor=world.teacher_a1, consultation=item, body="迟到的答复")


def test_consultation_api(client, world):
    _t, key = ApiToken.issue(user=world.parent_a1)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    created = client.post("/api/v1/homeschool/consultations", {"student_id": world.child_a1.pk, "target": "teacher", "subject": "睡眠", "body": "孩子晚睡"},
                          content_type="application/json", **auth)
    assert created.status_code == 201
    cid = created.json()["id"]
    assert client.get("/api/v1/homeschool/consultations", **auth).json()["items"][0]["id"] == cid
    _t, tkey = ApiToken.issue(user=world.teacher_a1)
    reply = client.post(f"/api/v1/homeschool/consultations/{cid}/messages", {"body": "早点睡"}, content_type="application/json",
                        HTTP_AUTHORIZATION=f"Bearer {tkey}")
    assert reply.status_code == 201
    thread = client.get(f"/api/v1/homeschool/consultations/{cid}", **auth).json()
    assert [m["from_family"] for m in thread["messages"]] == [True, False] and thread["status"] == "answered"
    _t, okey = ApiToken.issue(user=world.teacher_b1)
    assert client.get(f"/api/v1/homeschool/consultations/{cid}", HTTP_AUTHORIZATION=f"Bearer {okey}").status_code == 404
    bad = client.post("/api/v1/homeschool/consultations", {"student_id": world.child_a2.pk, "target": "teacher", "subject": "x", "body": "y"},
                      content_type="application/json", **auth)
    assert bad.status_code == 404
