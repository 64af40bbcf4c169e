"""Session limits and ending sessions on the server: idle timeout, maximum lifetime, logout, disabling."""

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from accounts.models import ApiToken, User, UserSession
from accounts.services import user_disable, user_logout_everywhere
from audit.models import AuditEvent
from tests.world import PASSWORD

LOGIN = reverse("accounts:login")


def login(user) -> Client:
    client = Client()
    response = client.post(LOGIN, {"username": user.phone, "password": PASSWORD})
    assert response.status_code == 302
    return client


def shift(client, key, seconds):
    session = client.session
    session[key] = session[key] - seconds
    session.save()


def is_sent_to_login(response) -> bool:
    return response.status_code == 302 and response.url.startswith(LOGIN)


def replay(cookie_value: str) -> Client:
    attacker = Client()
    attacker.cookies[django_settings.SESSION_COOKIE_NAME] = cookie_value
    return attacker


def test_log_in_starts_the_clocks(world):
    client = login(world.teacher_a1)
    assert {"gy_started", "gy_seen"} <= set(client.session.keys())
    assert UserSession.objects.filter(user_id=world.teacher_a1.pk).count() == 1


def test_staff_idle_over_30_minutes_is_logged_out(world):
    client = login(world.teacher_a1)
    assert client.get(reverse("home")).status_code == 200
    shift(client, "gy_seen", 29 * 60)
    assert client.get(reverse("home")).status_code == 200  # 29 minutes: still fine (and the clock restarts)
    shift(client, "gy_seen", 31 * 60)
    response = client.get(reverse("home"))
    assert is_sent_to_login(response)
    assert "_auth_user_id" not in client.session
    follow = client.get(response.url)
    assert "长时间未操作" in follow.content.decode()
    assert is_sent_to_login(client.get(reverse("home")))


def test_guardian_idle_30_minutes_stays_logged_in(world):
    client = login(world.parent_a1)
    shift(client, "gy_seen", 31 * 60)
    response = client.get(reverse("people:family"))
    assert response.status_code == 200
    assert world.child_a1.name in response.content.decode()


def test_max_lifetime_ends_an_active_staff_session(world):
    client = login(world.teacher_a1)
    shift(client, "gy_started", 13 * 3600)  # active a minute ago, but logged in 13 hours ago
    assert is_sent_to_login(client.get(reverse("home")))
    assert "_auth_user_id" not in client.session


def test_max_lifetime_for_guardians(world, settings):
    client = login(world.parent_a1)
    shift(client, "gy_started", settings.GONGYU_GUARDIAN_SESSION_MAX_HOURS * 3600 + 60)
    assert is_sent_to_login(client.get(reverse("people:family")))


def test_logout_then_replaying_the_old_cookie_is_anonymous(world):
    client = login(world.teacher_a1)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    assert replay(cookie).get(reverse("home")).status_code == 200  # the replay works while logged in
    response = client.post(reverse("accounts:logout"))
    assert is_sent_to_login(response)
    assert not UserSession.objects.filter(session_key=cookie).exists()
    assert is_sent_to_login(replay(cookie).get(reverse("home")))


def test_logout_needs_post(world):
    client = login(world.teacher_a1)
    assert client.get(reverse("accounts:logout")).status_code == 405
    assert client.get(reverse("home")).status_code == 200


def test_disabling_ends_web_sessions_and_api_tokens(world):
    teacher = world.teacher_a1
    client = login(teacher)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    _, key = ApiToken.issue(user=teacher)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api.get("/api/v1/auth/me").status_code == 200

    user_disable(actor=world.school_admin_a, user=teacher)

    assert is_sent_to_login(replay(cookie).get(reverse("home")))
    assert api.get("/api/v1/auth/me").status_code == 401
    assert not UserSession.objects.filter(user_id=teacher.pk).exists()
    assert not ApiToken.objects.filter(user=teacher).exists()
    teacher.refresh_from_db()
    assert not teacher.is_active
    # And the account cannot log in again.
    response = Client().post(LOGIN, {"username": teacher.phone, "password": PASSWORD})
    assert response.status_code == 200 and "_auth_user_id" not in response.wsgi_request.session
    event = AuditEvent.objects.filter(action="update", model="accounts.user", object_id=str(teacher.pk)).last()
    assert event.changes["is_active"] == [True, False]
    assert event.actor_id == world.school_admin_a.pk


def test_session_epoch_alone_invalidates_a_cookie(world):
    """Even if a session row survived (e.g. another store), the bumped epoch refuses it."""
    client = login(world.parent_a1)
    User.objects.filter(pk=world.parent_a1.pk).update(session_epoch=5)
    assert is_sent_to_login(client.get(reverse("people:family")))


def test_a_token_of_a_disabled_account_is_refused_even_if_not_deleted(world):
    _, key = ApiToken.issue(user=world.parent_a1)
    User.objects.filter(pk=world.parent_a1.pk).update(is_active=False)
    assert Client(HTTP_AUTHORIZATION=f"Bearer {key}").get("/api/v1/auth/me").status_code == 401


def test_logout_everywhere(world):
    phone_client = login(world.parent_a1)
    laptop_client = login(world.parent_a1)
    _, key = ApiToken.issue(user=world.parent_a1)
    other = login(world.parent_a2)
    user_logout_everywhere(user=world.parent_a1)
    assert is_sent_to_login(phone_client.get(reverse("people:family")))
    assert is_sent_to_login(laptop_client.get(reverse("people:family")))
    assert Client(HTTP_AUTHORIZATION=f"Bearer {key}").get("/api/v1/auth/me").status_code == 401
    assert other.get(reverse("people:family")).status_code == 200  # nobody else is affected
    # The account itself still works.
    assert login(world.parent_a1).get(reverse("people:family")).status_code == 200


@pytest.mark.parametrize(
    "actor,target",
    [
        ("teacher_a1", "parent_a1"),  # a class teacher does not disable accounts (no roles.manage)
        ("school_admin_b", "teacher_a1"),  # another school's admin
        ("school_admin_b", "parent_a1"),
        ("parent_a1", "grandparent_a1"),
        ("school_admin_a", "school_admin_a"),  # nobody disables themselves
    ],
)
def test_disable_is_refused_outside_the_actors_scope(world, actor, target):
    with pytest.raises(PermissionDenied):
        user_disable(actor=world.users[actor], user=world.users[target])
    assert User.objects.get(pk=world.users[target].pk).is_active


@pytest.mark.parametrize("actor,target", [("school_admin_a", "teacher_a1"), ("school_admin_a", "parent_a1"), ("district_admin", "school_admin_a")])
def test_disable_within_scope(world, actor, target):
    user_disable(actor=world.users[actor], user=world.users[target])
    assert not User.objects.get(pk=world.users[target].pk).is_active


def test_login_and_logout_are_audited(world):
    client = login(world.teacher_a1)
    client.post(reverse("accounts:logout"))
    actions = list(AuditEvent.objects.filter(object_id=str(world.teacher_a1.pk)).values_list("action", flat=True))
    assert "auth.login" in actions and "auth.logout" in actions
