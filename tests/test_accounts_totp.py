"""TOTP second factor for district and school admins when GONGYU_ADMIN_2FA is on."""

import base64

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.world import PASSWORD

TWO_FACTOR = reverse("accounts:two_factor")


@pytest.fixture
def two_fa(settings):
    settings.GONGYU_ADMIN_2FA = True
    return settings


def totp_now(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def wrong_token(device: TOTPDevice) -> str:
    return f"{(int(totp_now(device)) + 500_000) % 1_000_000:06d}"


def pages(world):
    return [reverse("home"), reverse("people:family"), reverse("org:tree"), f"/org/{world.school_a.pk}/"]


@pytest.mark.parametrize("who", ["school_admin_a", "district_admin"])
def test_admin_is_sent_to_two_factor_from_any_page(client, world, two_fa, who):
    client.force_login(world.users[who])
    for url in pages(world):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(TWO_FACTOR), url


@pytest.mark.parametrize("who", ["school_admin_a", "district_admin"])
def test_setup_with_a_correct_code_then_pages_work(client, world, two_fa, who):
    client.force_login(world.users[who])
    page = client.get(f"{TWO_FACTOR}?next=/org/")
    body = page.content.decode()
    assert page.status_code == 200
    assert 'src="data:image/svg+xml' in body
    device = TOTPDevice.objects.get(user=world.users[who], confirmed=False)

    assert base64.b32encode(device.bin_key).decode() in body  # the secret as text, for manual entry
    response = client.post(TWO_FACTOR, {"token": totp_now(device), "next": "/org/"})
    assert response.status_code == 302 and response.url == "/org/"
    device.refresh_from_db()
    assert device.confirmed
    for url in pages(world):
        assert client.get(url).status_code in (200, 302) and not client.get(url).get("Location", "").startswith(TWO_FACTOR)
    assert client.get(reverse("org:tree")).status_code == 200


def test_wrong_code_is_refused(client, world, two_fa):
    client.force_login(world.school_admin_a)
    client.get(TWO_FACTOR)
    device = TOTPDevice.objects.get(user=world.school_admin_a)
    response = client.post(TWO_FACTOR, {"token": wrong_token(device)})
    assert response.status_code == 200
    assert "验证码不正确或已过期" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert client.get(reverse("home")).url.startswith(TWO_FACTOR)


def test_next_log_in_asks_for_the_code_without_showing_the_secret_again(world, two_fa):
    device = TOTPDevice.objects.create(user=world.school_admin_a, name="phone", confirmed=True)
    client = Client()
    client.post("/accounts/login/", {"username": world.school_admin_a.phone, "password": PASSWORD})
    assert client.get(reverse("home")).url.startswith(TWO_FACTOR)
    page = client.get(TWO_FACTOR).content.decode()
    assert "data:image/svg+xml" not in page and "设置身份验证器" not in page
    assert TOTPDevice.objects.filter(user=world.school_admin_a).count() == 1
    assert client.post(TWO_FACTOR, {"token": totp_now(device)}).status_code == 302
    assert client.get(reverse("home")).status_code == 200


def test_open_redirect_is_not_followed(client, world, two_fa):
    client.force_login(world.school_admin_a)
    client.get(TWO_FACTOR)
    device = TOTPDevice.objects.get(user=world.school_admin_a)
    response = client.post(TWO_FACTOR, {"token": totp_now(device), "next": "https://evil.example/"})
    assert response.status_code == 302 and response.url == "/"


@pytest.mark.parametrize("who", ["teacher_a1", "parent_a1", "subject_teacher_a1", "street_staff_1"])
def test_other_roles_are_not_asked(client, world, two_fa, who):
    client.force_login(world.users[who])
    response = client.get(reverse("home"))
    assert not response.get("Location", "").startswith(TWO_FACTOR)
    assert response.status_code in (200, 302)


@pytest.mark.parametrize("who", ["school_admin_a", "district_admin"])
def test_demo_setting_waives_it_and_says_so(client, world, settings, who):
    settings.GONGYU_ADMIN_2FA = False
    client.force_login(world.users[who])
    assert client.get(reverse("home")).status_code == 200
    client.logout()
    assert "管理员免除双因素认证" in client.get("/accounts/login/").content.decode()


def test_login_page_does_not_mention_a_waiver_when_2fa_is_on(client, world, two_fa):
    assert "管理员免除双因素认证" not in client.get("/accounts/login/").content.decode()


def test_api_token_for_an_admin_needs_the_second_factor(world, two_fa):
    client = Client()
    url = "/api/v1/auth/token"
    phone = world.school_admin_a.phone
    no_device = client.post(url, {"phone": phone, "password": PASSWORD}, content_type="application/json")
    assert no_device.status_code == 401 and "身份验证器" in no_device.json()["detail"]
    device = TOTPDevice.objects.create(user=world.school_admin_a, name="phone", confirmed=True)
    wrong = client.post(url, {"phone": phone, "password": PASSWORD, "otp": wrong_token(device)}, content_type="application/json")
    assert wrong.status_code == 401
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    ok = client.post(url, {"phone": phone, "password": PASSWORD, "otp": totp_now(device)}, content_type="application/json")
    assert ok.status_code == 200 and "token" in ok.json()
    # A class teacher needs no code.
    teacher = client.post(url, {"phone": world.teacher_a1.phone, "password": PASSWORD}, content_type="application/json")
    assert teacher.status_code == 200
