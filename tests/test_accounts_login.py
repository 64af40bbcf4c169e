"""Log-in messages: an empty submit says what is missing; a disabled account that knows its password is told
it is disabled and whom to ask, while a wrong password learns nothing about the account."""

from django.urls import reverse

from accounts.models import User
from tests.world import PASSWORD

LOGIN = reverse("accounts:login")


def _disable(user):
    User.objects.filter(pk=user.pk).update(is_active=False)


def test_empty_submit_says_what_is_missing(client, db):
    response = client.post(LOGIN, {"username": "", "password": ""})
    assert response.status_code == 200
    text = response.content.decode()
    assert "请输入手机号。" in text and "请输入密码。" in text


def test_disabled_guardian_with_the_right_password_is_told_whom_to_ask(client, world):
    _disable(world.parent_a1)
    response = client.post(LOGIN, {"username": world.parent_a1.phone, "password": PASSWORD})
    assert response.status_code == 200
    text = response.content.decode()
    assert "该账号已停用" in text and "班主任" in text
    assert "密码不正确" not in text
    assert "_auth_user_id" not in client.session
    # With a wrong password it is told what any account is told: nothing about being disabled.
    wrong = client.post(LOGIN, {"username": world.parent_a1.phone, "password": "wrong-password-1"}).content.decode()
    assert "停用" not in wrong and "手机号或密码不正确" in wrong


def test_disabled_staff_with_the_right_password_is_told_to_ask_the_administrator(client, world, settings):
    _disable(world.teacher_a1)
    response = client.post(LOGIN, {"username": world.teacher_a1.phone, "password": PASSWORD})
    text = response.content.decode()
    assert "该账号已停用" in text and "上级管理员" in text
    assert "_auth_user_id" not in client.session
    # The attempts count towards the lockout as for any account: the sixth is refused as locked.
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post(LOGIN, {"username": world.teacher_a1.phone, "password": PASSWORD})
    assert client.post(LOGIN, {"username": world.teacher_a1.phone, "password": PASSWORD}).status_code == 429
