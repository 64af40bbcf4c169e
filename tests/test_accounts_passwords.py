"""Password policy: "standard" (>= 8 characters, not common) and "mlps" (3 character classes, rotation)."""

from datetime import timedelta

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from tests.world import PASSWORD

CHANGE = reverse("accounts:password_change")


def refused(password: str) -> list[str]:
    try:
        validate_password(password)
    except ValidationError as exc:
        return [e.code for e in exc.error_list]
    return []


@pytest.mark.parametrize("password", ["12345678", "password", "short1"])
def test_standard_refuses(settings, password):
    settings.GONGYU_PASSWORD_POLICY = "standard"
    assert refused(password)


def test_standard_reasons(settings):
    settings.GONGYU_PASSWORD_POLICY = "standard"
    assert "password_too_short" in refused("short1")
    assert "password_too_common" in refused("password")
    assert "password_entirely_numeric" in refused("12345678") or "password_too_common" in refused("12345678")


@pytest.mark.parametrize("password", ["huaxia-2026-sky", "abcdefgh-lake"])
def test_standard_accepts(settings, password):
    settings.GONGYU_PASSWORD_POLICY = "standard"
    assert refused(password) == []


def test_mlps_three_classes(settings):
    settings.GONGYU_PASSWORD_POLICY = "standard"
    assert refused("abcdefgh1") == ["password_too_common"]  # on the common list, whatever the case
    settings.GONGYU_PASSWORD_POLICY = "mlps"
    assert "password_too_simple" in refused("abcdefgh1")
    assert "password_too_simple" not in refused("Abcdefgh1")  # three classes satisfy the MLPS rule ...
    # ... but "abcdefgh1" is on Django's common-password list (compared case-insensitively), and the
    # common-password check stays on under mlps: the stricter policy never accepts what the default refuses.
    assert refused("Abcdefgh1") == ["password_too_common"]
    assert refused("Huaxia2026sky") == []
    assert refused("huaxia-2026-sky") == []  # lower case, digits, symbols: three classes


def test_policy_help_text_follows_the_setting(settings, client, world):
    settings.GONGYU_PASSWORD_POLICY = "mlps"
    client.force_login(world.parent_a1)
    assert "至少三类" in client.get(CHANGE).content.decode()


def age_password(user: User, days: int):
    User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - timedelta(days=days))


def test_mlps_sends_staff_with_an_old_password_to_change_it(settings, world):
    settings.GONGYU_PASSWORD_POLICY = "mlps"
    settings.GONGYU_PASSWORD_MAX_AGE_DAYS = 90
    age_password(world.teacher_a1, 91)
    client = Client()
    client.force_login(world.teacher_a1)
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response.url == CHANGE
    page = client.get(CHANGE)
    assert page.status_code == 200 and "已超过有效期" in page.content.decode()
    # Changing it (to a three-class password) lets the user through.
    new = "Huaxia-2026-sky"
    done = client.post(CHANGE, {"old_password": PASSWORD, "new_password1": new, "new_password2": new})
    assert done.status_code == 302
    assert client.get(reverse("home")).status_code == 200  # still logged in after the change


def test_mlps_change_form_refuses_two_classes(settings, world):
    settings.GONGYU_PASSWORD_POLICY = "mlps"
    client = Client()
    client.force_login(world.teacher_a1)
    response = client.post(CHANGE, {"old_password": PASSWORD, "new_password1": "huaxiaskylake", "new_password2": "huaxiaskylake"})
    assert response.status_code == 200
    assert "至少三类" in response.content.decode()
    assert User.objects.get(pk=world.teacher_a1.pk).check_password(PASSWORD)


def test_mlps_fresh_password_is_not_redirected(settings, world):
    settings.GONGYU_PASSWORD_POLICY = "mlps"
    age_password(world.teacher_a1, 10)
    client = Client()
    client.force_login(world.teacher_a1)
    assert client.get(reverse("home")).status_code == 200


def test_mlps_rotation_is_for_staff_only(settings, world):
    settings.GONGYU_PASSWORD_POLICY = "mlps"
    age_password(world.parent_a1, 400)
    client = Client()
    client.force_login(world.parent_a1)
    assert client.get(reverse("people:family")).status_code == 200


def test_standard_policy_never_forces_rotation(settings, world):
    settings.GONGYU_PASSWORD_POLICY = "standard"
    age_password(world.teacher_a1, 400)
    client = Client()
    client.force_login(world.teacher_a1)
    assert client.get(reverse("home")).status_code == 200


def refused_for(password: str, user) -> list[str]:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        return [e.code for e in exc.error_list]
    return []


@pytest.mark.parametrize("policy", ["standard", "mlps"])
@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("gy13900000013", "password_too_similar"),  # the log-in name with two letters in front
        ("Gy-13900000013", "password_too_similar"),
        ("My-phone-is-13900000013!", "password_contains_phone"),  # too long for the similarity check
        ("Zhangxiaoming-88", "password_too_similar"),  # the name
    ],
)
def test_both_policies_refuse_a_password_made_of_the_phone_or_the_name(settings, policy, password, code):
    settings.GONGYU_PASSWORD_POLICY = policy
    user = User(phone="13900000013", name="zhangxiaoming")
    assert code in refused_for(password, user)
    assert refused_for("Huaxia-2026-sky", user) == []


@pytest.mark.parametrize("policy", ["standard", "mlps"])
@pytest.mark.parametrize("password", ["aaaaaaaaaaaa", "AAAAaaaa1111!!!!", "Abababab", "xy-xy-xy-xy"])
def test_both_policies_refuse_runs_of_one_character(settings, policy, password):
    settings.GONGYU_PASSWORD_POLICY = policy
    assert "password_repetitive" in refused(password)


def test_the_change_form_checks_against_the_account_itself(settings, world):
    client = Client()
    client.force_login(world.teacher_a1)
    own = f"gy{world.teacher_a1.phone}"
    response = client.post(CHANGE, {"old_password": PASSWORD, "new_password1": own, "new_password2": own})
    assert response.status_code == 200
    assert "太相似" in response.content.decode()
    assert User.objects.get(pk=world.teacher_a1.pk).check_password(PASSWORD)
