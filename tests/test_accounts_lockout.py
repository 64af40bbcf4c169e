"""Log-in lockout: 5 failures lock an account for 15 minutes, keyed by account and by account + address,
never by address alone (families and schools share carrier-grade NAT addresses)."""

from datetime import timedelta

from axes.models import AccessAttempt
from django.db.models import F
from django.test import Client

from audit.models import AuditEvent
from tests.world import PASSWORD

LOGIN = "/accounts/login/"
TOKEN = "/api/v1/auth/token"
IP_A = "203.0.113.10"
IP_B = "198.51.100.20"


def web_login(phone, password, ip=IP_A):
    client = Client(REMOTE_ADDR=ip)
    response = client.post(LOGIN, {"username": phone, "password": password})
    return response, client


def api_token(phone, password, ip=IP_A):
    return Client(REMOTE_ADDR=ip).post(TOKEN, {"phone": phone, "password": password}, content_type="application/json")


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def expire_lockout(minutes=16):
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=minutes))


def test_four_failures_do_not_lock(world):
    phone = world.teacher_a1.phone
    for _ in range(4):
        response, _client = web_login(phone, "wrong-password")
        assert response.status_code == 200
        assert "手机号或密码不正确" in response.content.decode()
    response, client = web_login(phone, PASSWORD)
    assert response.status_code == 302 and logged_in(client)


def test_five_failures_lock_the_account_even_with_the_right_password(world):
    phone = world.teacher_a1.phone
    statuses = [web_login(phone, "wrong-password")[0].status_code for _ in range(5)]
    assert statuses[:4] == [200] * 4
    assert statuses[4] == 429  # the fifth failure already says the account is now locked
    response, client = web_login(phone, PASSWORD)
    assert response.status_code == 429
    assert "该账号已被锁定 15 分钟" in response.content.decode()
    assert not logged_in(client)


def test_lock_is_per_account_not_per_address(world):
    for _ in range(5):
        web_login(world.teacher_a1.phone, "wrong-password", ip=IP_A)
    # Another family behind the same address logs in normally.
    response, client = web_login(world.parent_a1.phone, PASSWORD, ip=IP_A)
    assert response.status_code == 302 and logged_in(client)
    # The locked account is refused from another address too (the account key).
    response, client = web_login(world.teacher_a1.phone, PASSWORD, ip=IP_B)
    assert response.status_code == 429 and not logged_in(client)


def test_phone_formats_count_as_the_same_account(world):
    phone = world.teacher_a1.phone
    typed = [phone, f"+86 {phone}", f"{phone[:3]}-{phone[3:7]}-{phone[7:]}", phone, phone]
    for t in typed:
        web_login(t, "wrong-password")
    response, _client = web_login(phone, PASSWORD)
    assert response.status_code == 429


def test_lock_ends_after_fifteen_minutes(world):
    phone = world.teacher_a1.phone
    for _ in range(5):
        web_login(phone, "wrong-password")
    expire_lockout(minutes=14)
    assert web_login(phone, PASSWORD)[0].status_code == 429  # 14 minutes later: still locked
    expire_lockout(minutes=2)
    response, client = web_login(phone, PASSWORD, ip=IP_B)
    assert response.status_code == 302 and logged_in(client)
    assert not AccessAttempt.objects.filter(username=phone).exists()  # success resets the count


def test_tries_while_locked_do_not_extend_the_lock(world):
    phone = world.teacher_a1.phone
    for _ in range(5):
        web_login(phone, "wrong-password")
    expire_lockout(minutes=10)
    for _ in range(3):
        assert web_login(phone, "wrong-password")[0].status_code == 429
    expire_lockout(minutes=6)
    assert web_login(phone, PASSWORD)[0].status_code == 302


def test_failed_logins_are_audited_without_the_phone(world):
    web_login(world.teacher_a1.phone, "wrong-password")
    event = AuditEvent.objects.filter(action="auth.login_failed").get()
    assert event.object_id == str(world.teacher_a1.pk)
    assert world.teacher_a1.phone not in str(event.changes) + event.actor_label + event.object_id
    assert event.ip == IP_A


def test_api_token_shares_the_lockout(world):
    phone = world.teacher_a1.phone
    statuses = [api_token(phone, "wrong-password").status_code for _ in range(5)]
    assert statuses[:4] == [401] * 4 and statuses[4] == 429
    locked = api_token(phone, PASSWORD)
    assert locked.status_code == 429
    assert locked["Content-Type"].startswith("application/json")
    assert "锁定" in locked.json()["detail"]
    assert "token" not in locked.json()
    # The web log-in is locked by the same failures.
    assert web_login(phone, PASSWORD, ip=IP_B)[0].status_code == 429
    # Another account from the same address still gets a token.
    assert api_token(world.parent_a1.phone, PASSWORD).status_code == 200
    expire_lockout()
    ok = api_token(phone, PASSWORD, ip=IP_B)
    assert ok.status_code == 200 and ok.json()["token"].startswith("gy_")


def test_web_and_api_failures_add_up(world):
    phone = world.teacher_a1.phone
    for _ in range(3):
        web_login(phone, "wrong-password")
    api_token(phone, "wrong-password")
    api_token(phone, "wrong-password")
    assert api_token(phone, PASSWORD).status_code == 429


def test_api_success_resets_earlier_failures(world):
    phone = world.teacher_a1.phone
    for _ in range(4):
        api_token(phone, "wrong-password")
    assert api_token(phone, PASSWORD).status_code == 200
    for _ in range(4):
        api_token(phone, "wrong-password")
    assert api_token(phone, PASSWORD).status_code == 200
    assert AuditEvent.objects.filter(action="auth.token", object_id=str(world.teacher_a1.pk)).count() == 2
