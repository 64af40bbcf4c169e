"""Guardian self-activation: phone + SMS code, class invitation code, the child's name and 学籍号 digits."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import SmsCode, User
from audit.models import AuditEvent
from core.sms import MemoryBackend
from people.models import Consent, ConsentPurpose, Guardian, Guardianship, Relation, Student
from tests.world import PASSWORD

URL = "/accounts/activate/"
PHONE = "13912345678"  # world.unactivated_a1, on child_a1's roster
NEW_PASSWORD = "huaxia-2026-sky"


@pytest.fixture(autouse=True)
def _sms(settings):
    settings.GONGYU_SMS_BACKEND = "core.sms.MemoryBackend"
    settings.GONGYU_DEMO = False
    MemoryBackend.sent.clear()
    yield
    MemoryBackend.sent.clear()


def send_code(client, phone=PHONE):
    response = client.post(URL, {"action": "send_code", "phone": phone})
    assert response.status_code == 200
    sent = [m for m in MemoryBackend.sent if m["to"] == phone]
    return re.search(r"\d{6}", sent[-1]["text"]).group(0) if sent else None, response


def form(world, code, **over):
    data = {
        "action": "activate",
        "phone": PHONE,
        "sms_code": code,
        # Lower case and spaces: grandparents type what they see on the slip.
        "invite_code": " ".join(world.class_a1.invite_code.lower()),
        "child_name": world.child_a1.name,
        "student_no_last4": world.child_a1.student_no[-4:],
        "relation": Relation.FATHER,
        "password": NEW_PASSWORD,
        "password_confirm": NEW_PASSWORD,
        "agree_rules": "on",
    }
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def counts():
    return (
        User.objects.count(),
        Guardianship.objects.count(),
        Guardianship.objects.filter(verified_at__isnull=False).count(),
        Consent.objects.count(),
        Guardian.objects.filter(user__isnull=False).count(),
    )


def activate(client, world, **over):
    code, _ = send_code(client, over.get("phone", PHONE))
    return client.post(URL, form(world, code, **over))


def test_happy_path_creates_account_records_consent_and_shows_child(client, world):
    code, page = send_code(client)
    assert "验证码已发送至 139****5678" in page.content.decode()
    stored = SmsCode.objects.get()
    assert code not in stored.code_hash and PHONE not in stored.phone_digest  # hashed, not the phone
    assert stored.expires_at - stored.created_at <= timedelta(minutes=10)

    response = client.post(URL, form(world, code, photo_publicity="on"))
    assert response.status_code == 302 and response.url == reverse("people:family")

    user = User.objects.get(phone=PHONE)
    assert user.name == "未激活家长" and user.check_password(NEW_PASSWORD)
    guardian = Guardian.objects.get(pk=world.unactivated_a1.pk)
    assert guardian.user == user
    link = Guardianship.objects.get(guardian=guardian, student=world.child_a1)
    assert link.verified_at is not None
    platform = Consent.objects.get(guardian=guardian, purpose=ConsentPurpose.PLATFORM)
    assert platform.rules_version == "2026.1" and platform.student is None and platform.withdrawn_at is None
    assert Consent.objects.filter(guardian=guardian, purpose=ConsentPurpose.PHOTO_PUBLICITY, student=world.child_a1).exists()
    assert not Consent.objects.filter(guardian=guardian, purpose=ConsentPurpose.GROWTH_SHARING).exists()
    assert SmsCode.objects.get().used_at is not None

    family = client.get(reverse("people:family"))  # logged in by the activation
    assert family.status_code == 200
    assert world.child_a1.name in family.content.decode()
    assert AuditEvent.objects.filter(action="accounts.activate", object_id=str(guardian.pk)).exists()


def test_rules_version_comes_from_settings(client, world, settings):
    settings.GONGYU_RULES_VERSION = "2027.2"
    assert activate(client, world).status_code == 302
    assert Consent.objects.get(purpose=ConsentPurpose.PLATFORM, guardian=world.unactivated_a1).rules_version == "2027.2"


def test_optional_consents_are_unbundled(client, world):
    assert activate(client, world, growth_sharing="on").status_code == 302
    purposes = set(Consent.objects.filter(guardian=world.unactivated_a1).values_list("purpose", flat=True))
    assert purposes == {ConsentPurpose.PLATFORM, ConsentPurpose.GROWTH_SHARING}


def test_demo_shows_the_code_on_the_page_and_production_does_not(client, world, settings):
    settings.GONGYU_DEMO = True
    code, page = send_code(client)
    assert f"演示环境：验证码为 {code}" in page.content.decode()
    settings.GONGYU_DEMO = False
    SmsCode.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    code2, page2 = send_code(client)
    assert code2 and code2 not in page2.content.decode()


def assert_refused(response, message, before):
    assert response.status_code == 200
    assert message in response.content.decode()
    assert counts() == before
    assert "_auth_user_id" not in response.wsgi_request.session


@pytest.mark.parametrize(
    "field,value",
    [("invite_code", "ZZZZ9999"), ("child_name", "学生zz"), ("student_no_last4", "9999")],
)
def test_wrong_child_data_is_refused_with_one_combined_message(client, world, field, value):
    before = counts()
    response = activate(client, world, **{field: value})
    assert_refused(response, "邀请码、孩子姓名或学籍号后四位不匹配", before)


def test_child_of_another_class_with_the_class_code_is_refused(client, world):
    before = counts()
    response = activate(client, world, child_name=world.child_a2.name, student_no_last4=world.child_a2.student_no[-4:])
    assert_refused(response, "邀请码、孩子姓名或学籍号后四位不匹配", before)


def test_inactive_student_is_refused(client, world):
    Student.objects.filter(pk=world.child_a1.pk).update(is_active=False)
    before = counts()
    assert_refused(activate(client, world), "邀请码、孩子姓名或学籍号后四位不匹配", before)


def test_phone_not_on_roster_is_refused_and_audited_without_the_phone(client, world):
    before = counts()
    response = activate(client, world, phone="13700000001")
    assert_refused(response, "该手机号不在孩子的家长名单中，请联系班主任添加后再激活", before)
    event = AuditEvent.objects.get(action="accounts.activate_refused")
    assert event.object_id == str(world.child_a1.pk)
    assert "13700000001" not in str(event.changes) and "13700000001" not in event.actor_label


def test_phone_of_another_childs_guardian_is_refused(client, world):
    # parent_a2's phone is on child_a2's roster, not child_a1's.
    before = counts()
    response = activate(client, world, phone=world.parent_a2.phone)
    assert_refused(response, "该手机号不在孩子的家长名单中", before)


def test_expired_code_is_refused(client, world):
    code, _ = send_code(client)
    SmsCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    before = counts()
    assert_refused(client.post(URL, form(world, code)), "验证码已过期", before)


def test_used_code_is_refused(client, world):
    code, _ = send_code(client)
    assert client.post(URL, form(world, code)).status_code == 302
    client.post(reverse("accounts:logout"))
    before = counts()
    assert_refused(client.post(URL, form(world, code)), "该验证码已使用过", before)


def test_wrong_code_counts_and_the_code_dies_after_five_wrong_tries(client, world):
    code, _ = send_code(client)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    before = counts()
    for left in (4, 3, 2, 1):
        assert_refused(client.post(URL, form(world, wrong)), f"验证码不正确，还可以再试 {left} 次", before)
    assert_refused(client.post(URL, form(world, wrong)), "验证码输错次数过多", before)
    # Even the right code is now useless.
    assert_refused(client.post(URL, form(world, code)), "验证码输错次数过多", before)


def test_codes_are_rate_limited_per_phone(client, world):
    send_code(client)
    _, page = send_code(client)
    assert "秒后再重新获取" in page.content.decode()
    assert len(MemoryBackend.sent) == 1
    for _ in range(4):
        SmsCode.objects.update(created_at=timezone.now() - timedelta(minutes=2))
        send_code(client)
    assert len(MemoryBackend.sent) == 5
    SmsCode.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    _, page = send_code(client)
    assert "一小时内获取验证码的次数已达上限" in page.content.decode()
    assert len(MemoryBackend.sent) == 5
    # An hour later it works again.
    SmsCode.objects.update(created_at=timezone.now() - timedelta(minutes=61))
    code, _ = send_code(client)
    assert len(MemoryBackend.sent) == 6 and code


def test_too_many_failed_activations_pause_the_phone(client, world, settings):
    settings.GONGYU_ACTIVATION_FAILURES_PER_PHONE_HOUR = 3
    for _ in range(3):
        SmsCode.objects.update(created_at=timezone.now() - timedelta(minutes=2))
        activate(client, world, child_name="猜的名字")
    SmsCode.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    before = counts()
    # Now even the right child is refused for this phone.
    assert_refused(activate(client, world), "尝试次数过多", before)


def test_too_many_failed_activations_pause_the_address(client, world, settings):
    settings.GONGYU_ACTIVATION_FAILURES_PER_IP_HOUR = 2
    for phone in ("13700000001", "13700000002"):
        activate(client, world, phone=phone)
    before = counts()
    assert_refused(activate(client, world), "尝试次数过多", before)


def test_rules_must_be_agreed(client, world):
    before = counts()
    response = activate(client, world, agree_rules=None)
    assert_refused(response, "请阅读并勾选同意", before)


def test_weak_password_is_refused_for_a_new_account(client, world):
    before = counts()
    response = activate(client, world, password="12345678", password_confirm="12345678")
    assert_refused(response, "这个密码太常见了", before)


def test_password_confirmation_must_match(client, world):
    before = counts()
    assert_refused(activate(client, world, password_confirm="huaxia-2026-skx"), "两次输入的密码不一致", before)


def test_existing_account_links_with_its_current_password(client, world):
    """A teacher of school B who is also the father of a child in school A."""
    teacher = world.teacher_b1
    guardian = Guardian.objects.create(district=world.district, name="双重身份家长", phone=teacher.phone)
    Guardianship.objects.create(guardian=guardian, student=world.child_a2, relation=Relation.FATHER)
    over = {
        "phone": teacher.phone,
        "invite_code": world.class_a2.invite_code,
        "child_name": world.child_a2.name,
        "student_no_last4": world.child_a2.student_no[-4:],
    }
    before = counts()
    refused = activate(client, world, password="not-his-password", password_confirm="", **over)
    assert_refused(refused, "该手机号已有共育账号", before)

    SmsCode.objects.update(created_at=timezone.now() - timedelta(minutes=2))

    response = activate(client, world, password=PASSWORD, password_confirm="", **over)
    assert response.status_code == 302
    assert User.objects.count() == before[0]  # no second account
    guardian.refresh_from_db()
    assert guardian.user == teacher
    teacher.refresh_from_db()
    assert teacher.check_password(PASSWORD)  # the password was not changed
    page = client.get(reverse("people:family")).content.decode()
    assert world.child_a2.name in page


def test_existing_guardian_adds_a_child_in_another_school_and_sees_both(client, world):
    """parent_a1's child in school A is activated; the school B roster lists the same phone for a
    younger child. The second activation uses the existing password, verifies the new link and
    keeps one account."""

    guardian = world.guardians["parent_a1"]
    Guardianship.objects.create(guardian=guardian, student=world.child_b1, relation=Relation.MOTHER)
    users_before = User.objects.count()
    response = activate(
        client,
        world,
        phone=world.parent_a1.phone,
        invite_code=world.class_b1.invite_code,
        child_name=world.child_b1.name,
        student_no_last4=world.child_b1.student_no[-4:],
        password=PASSWORD,
        password_confirm="",
    )
    assert response.status_code == 302
    assert User.objects.count() == users_before
    assert Guardianship.objects.get(guardian=guardian, student=world.child_b1).verified_at is not None
    page = client.get(reverse("people:family")).content.decode()
    assert world.child_a1.name in page and world.child_b1.name in page


def test_account_already_linked_in_another_district_is_refused_clearly(client, world):
    # Guardian.user is one-to-one: an account linked in this district cannot also be linked in another.
    other = Guardian.objects.create(district=world.other_district, name="parent_a1", phone=world.parent_a1.phone)
    Guardianship.objects.create(guardian=other, student=world.child_other, relation=Relation.MOTHER)

    before = counts()
    response = activate(
        client,
        world,
        phone=world.parent_a1.phone,
        invite_code=world.other_class.invite_code,
        child_name=world.child_other.name,
        student_no_last4=world.child_other.student_no[-4:],
        password=PASSWORD,
        password_confirm="",
    )
    assert_refused(response, "暂不支持跨区关联", before)


def test_activation_page_renders_for_anonymous_visitors(client, world):
    page = client.get(URL)
    assert page.status_code == 200
    body = page.content.decode()
    assert "获取验证码" in body and "班级邀请码" in body and "学籍号后四位" in body
    assert "style=" not in body and "onclick" not in body


def test_a_password_made_of_the_own_phone_is_refused_for_a_new_account(client, world):
    before = counts()
    response = activate(client, world, password=f"gy{PHONE}", password_confirm=f"gy{PHONE}")
    assert_refused(response, "太相似", before)
