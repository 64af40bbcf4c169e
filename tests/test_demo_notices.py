"""manage.py demo_notices: notices in every state on the demo district, read and replied through the services."""

import io
import re

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Max, Min
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.demo import DEMO_PASSWORD, DEMO_PHONE
from accounts.models import User
from audit.models import AuditEvent
from audit.services import verify_chain
from homeschool.models import Consultation, ConsultationMessage, ConsultStatus, Expert, MicroGuide
from messaging.channels import MemoryBackend
from messaging.models import Delivery
from notices.models import (
    DeliveryKind,
    JobStatus,
    Notice,
    NoticeJob,
    NoticeStatus,
    Priority,
    Receipt,
    Reply,
    ReplyKind,
)
from people.models import Guardian

STUDENTS = 300
TITLES = {
    "safety": "关于寒假安全教育的通知",
    "consent": "春季研学活动家长同意书",
    "homework": "本周家庭作业安排",
    "storm": "暴雨红色预警：明日停课通知",
    "withdrawn": "周五家长开放日安排",
    "scheduled": "期末家长会通知",
}
SETTINGS = {
    "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"],
    "GONGYU_QUIET_HOURS": "",
    "GONGYU_NOTICE_SMS_BACKEND": "messaging.channels.MemoryBackend",
    "GONGYU_NOTICE_EMAIL_BACKEND": "messaging.channels.MemoryBackend",
    "GONGYU_NOTICE_WECHAT_BACKEND": "messaging.channels.MemoryBackend",
}


@pytest.fixture(scope="module")
def _built(django_db_setup, django_db_blocker, tmp_path_factory):
    """build_demo then demo_notices once for the module, in a transaction rolled back at the end (each test
    runs in its own savepoint on top, as in test_demo)."""

    var_dir = tmp_path_factory.mktemp("var")
    out = io.StringIO()
    with django_db_blocker.unblock(), override_settings(VAR_DIR=var_dir, **SETTINGS), transaction.atomic():
        call_command("build_demo", students=STUDENTS, seed=1, stdout=io.StringIO())
        call_command("demo_notices", stdout=out)
        yield {"out": out.getvalue(), "var_dir": var_dir}
        transaction.set_rollback(True)
    MemoryBackend.reset()


@pytest.fixture
def demo(_built, db, settings):
    settings.VAR_DIR = _built["var_dir"]
    for key, value in SETTINGS.items():
        setattr(settings, key, value)
    return _built


def _notices() -> dict[str, Notice]:
    by_title = {n.title: n for n in Notice.objects.filter(title__in=TITLES.values())}
    return {key: by_title[title] for key, title in TITLES.items()}


def _guardian(key: str) -> Guardian:
    return Guardian.objects.select_related("user").get(user__phone=DEMO_PHONE[key])


def test_notices_exist_in_every_state(demo):
    n = _notices()
    assert Notice.objects.filter(title__in=TITLES.values()).count() == len(TITLES)
    for key in ("safety", "consent", "homework", "storm"):
        assert n[key].status == NoticeStatus.PUBLISHED, key
        assert n[key].published_at < timezone.now()
        assert n[key].recipient_count == Receipt.objects.filter(notice=n[key]).count() > 0
    assert n["safety"].priority == Priority.IMPORTANT and n["safety"].sender_unit.kind == "district"
    assert n["consent"].reply_kind == ReplyKind.CONSENT and n["consent"].reply_deadline > timezone.now()
    assert n["homework"].sender_unit.kind == "class"
    # The emergency is published, and its SMS re-send to the still-unread families has run.
    assert n["storm"].priority == Priority.EMERGENCY and n["storm"].escalated_at is not None
    assert Delivery.objects.filter(source=f"notice:{n['storm'].pk}", kind=DeliveryKind.ESCALATION).exists()
    assert n["withdrawn"].status == NoticeStatus.WITHDRAWN and n["withdrawn"].withdraw_reason.startswith(
        "因天气原因"
    )
    assert Receipt.objects.filter(notice=n["withdrawn"]).exists()
    assert n["scheduled"].status == NoticeStatus.SCHEDULED and n["scheduled"].publish_at > timezone.now()
    assert not Receipt.objects.filter(notice=n["scheduled"]).exists()
    # Every fan-out ran to the end, through the same job the worker runs.
    jobs = NoticeJob.objects.filter(notice__in=n.values())
    assert jobs.count() == 6 and set(jobs.values_list("status", flat=True)) == {JobStatus.DONE}
    assert "notices demo: added" in demo["out"]


def test_receipts_exist_for_the_demo_guardians(demo):
    n = _notices()
    parent, grandparent = _guardian("guardian"), _guardian("grandparent")
    for guardian in (parent, grandparent):
        got = set(Receipt.objects.filter(guardian=guardian).values_list("notice__title", flat=True))
        assert {TITLES[k] for k in ("safety", "consent", "homework", "storm", "withdrawn")} <= got
        assert TITLES["scheduled"] not in got
    # The mother of two: one receipt for the district notice naming both children.
    both = Receipt.objects.get(notice=n["safety"], guardian=parent)
    assert len(both.student_ids) == 2
    # Their known state: the district notice read and confirmed, the homework read, the rest waiting.
    mine = {r.notice.title: r for r in Receipt.objects.filter(guardian=parent).select_related("notice")}
    assert mine[TITLES["safety"]].read_at and mine[TITLES["safety"]].reply == "confirm"
    assert mine[TITLES["homework"]].read_at
    assert mine[TITLES["consent"]].read_at is None and mine[TITLES["consent"]].replied_at is None
    assert mine[TITLES["storm"]].read_at is None


def test_read_share_is_realistic(demo, record_property):
    n = _notices()
    published = [n[k] for k in ("safety", "consent", "homework", "storm", "withdrawn")]
    receipts = Receipt.objects.filter(notice__in=published, guardian__isnull=False)
    total, read = receipts.count(), receipts.filter(read_at__isnull=False).count()
    share = read / total
    record_property(
        "evidence",
        f"demo_notices ({STUDENTS} students): {len(published)} published notices, {total} receipts, {read} read ({share:.1%})",
    )
    assert 0.6 <= share <= 0.8
    for notice in published:
        rows = Receipt.objects.filter(notice=notice)
        assert rows.filter(read_at__isnull=True).exists() and rows.filter(read_at__isnull=False).exists(), (
            notice.title
        )
        # Read after publication, never in the future.
        span = rows.aggregate(
            first=Min("read_at"), last=Max("read_at")
        )  # NULLs sort differently per database
        first, last = span["first"], span["last"]
        assert notice.published_at < first <= last <= timezone.now()
    # Only guardians with an account read (the others cannot open a notice), unless their household
    # replied for them: a reply implies a read.
    assert not receipts.filter(read_at__isnull=False, guardian__user__isnull=True, replied_by_household=False).exists()
    # Replies: confirmations, and consent with both answers and some comments, as Reply rows too.
    consent = Receipt.objects.filter(notice=n["consent"])
    assert consent.filter(reply="agree").count() > consent.filter(reply="disagree").count() > 0
    assert consent.exclude(reply_comment="").exists()
    assert (
        Reply.objects.filter(receipt__notice=n["consent"]).count()
        == consent.filter(replied_by_household=False).exclude(reply="").count()
    )
    assert Receipt.objects.filter(notice=n["safety"], reply="confirm").exists()
    assert not Receipt.objects.filter(notice=n["homework"]).exclude(reply="").exists()


def test_consultations_and_guides(demo):
    answered = Consultation.objects.filter(status=ConsultStatus.ANSWERED)
    assert answered.count() == 2 and all(c.first_reply_at for c in answered)
    assert {c.target for c in answered} == {"teacher", "expert"}
    assert Consultation.objects.filter(status=ConsultStatus.OPEN).count() == 1
    assert ConsultationMessage.objects.count() == 5
    assert Expert.objects.filter(user__phone=DEMO_PHONE["volunteer"], is_active=True).exists()
    assert MicroGuide.objects.count() == 2


def _counts() -> dict:
    models = (
        Notice,
        Receipt,
        Reply,
        Delivery,
        NoticeJob,
        AuditEvent,
        Consultation,
        ConsultationMessage,
        MicroGuide,
        Expert,
    )
    counts = {m.__name__: m.objects.count() for m in models}
    counts["read"] = Receipt.objects.filter(read_at__isnull=False).count()
    return counts


def test_second_run_adds_nothing(demo):
    before = _counts()
    out = io.StringIO()
    call_command("demo_notices", stdout=out)
    assert "already present, nothing added" in out.getvalue()
    assert _counts() == before
    assert verify_chain().ok


def test_demo_guardian_inbox_lists_unread_first(demo):
    parent = User.objects.get(phone=DEMO_PHONE["guardian"])
    assert Guardian.objects.filter(user=parent).exists()  # 13900000009 is a guardian log-in
    client = Client()
    response = client.post(reverse("accounts:login"), {"username": parent.phone, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    page = client.get(reverse("notices:inbox"))
    assert page.status_code == 200
    html = page.content.decode()
    items = re.findall(r'<a class="([^"]*gy-inbox-item[^"]*)" href="/notices/r/(\d+)/"', html)
    n = _notices()
    titles = {str(v.pk): k for k, v in n.items()}
    order = [titles.get(pk, pk) for _cls, pk in items]
    unread = ["is-unread" in cls for cls, _pk in items]
    # Unread first (the emergency before everything), then the rest newest first.
    assert order[:2] == ["storm", "consent"] and unread[:2] == [True, True]
    assert not any(unread[2:])
    assert set(order) == {"storm", "consent", "homework", "withdrawn", "safety"}
    assert order.index("homework") < order.index("withdrawn") < order.index("safety")
    assert re.search(r'data-testid="unread-count">2<', html)
    for key in ("storm", "consent", "homework", "withdrawn", "safety"):
        assert TITLES[key] in html
    # Opening the consent form shows the reply choices.
    read = client.get(reverse("notices:read", args=[n["consent"].pk])).content.decode()
    assert "同意" in read and "不同意" in read and 'data-testid="reply-submit"' in read


def test_sender_figures_match_the_database(demo):
    n = _notices()["consent"]
    client = Client()
    client.post(
        reverse("accounts:login"), {"username": DEMO_PHONE["school_admin"], "password": DEMO_PASSWORD}
    )
    html = client.get(reverse("notices:stats", args=[n.pk])).content.decode()
    rows = Receipt.objects.filter(notice=n)
    for testid, value in [
        ("total", rows.count()),
        ("read", rows.filter(read_at__isnull=False).count()),
        ("unread", rows.filter(read_at__isnull=True).count()),
        ("replied", rows.filter(replied_at__isnull=False).count()),
    ]:
        assert re.search(rf'data-testid="{testid}">{value}<', html), testid
