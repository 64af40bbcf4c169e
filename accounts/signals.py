"""Audit of log-in events and registration of audited models (people and org data)."""

import time

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from accounts.backends import normalise_phone
from accounts.models import RoleAssignment, User
from audit.middleware import client_ip
from audit.registry import register
from audit.services import Actor, actor_for, record
from org.models import OrgUnit
from people.models import Consent, Guardian, Guardianship, Household, Student


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    # The session's lifetime and idle clock start at log-in (SessionLimitsMiddleware reads them).
    session = getattr(request, "session", None)
    if session is not None:
        now = int(time.time())
        session["gy_started"] = now
        session["gy_seen"] = now
    record("auth.login", model="accounts.user", object_id=user.pk, actor=actor_for(user, ip=client_ip(request)))


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    # Recorded against the account when it exists; the typed phone itself is never written anywhere.
    user_id = User.objects.system(reason="a failed log-in is recorded against the account").filter(phone=normalise_phone(credentials.get("username"))).values_list("pk", flat=True).first()
    ip = client_ip(request) if request is not None else None
    record("auth.login_failed", model="accounts.user", object_id=user_id or "", actor=Actor(None, "anonymous", ip))


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        record("auth.logout", model="accounts.user", object_id=user.pk, actor=actor_for(user, ip=client_ip(request)))


def register_audited_models():
    register(User, exclude=("password", "last_login", "session_epoch"))
    register(RoleAssignment)
    register(OrgUnit)
    register(Student, sensitive=("id_number",), exclude=("id_digest",))
    register(Guardian, sensitive=("phone", "id_number"), exclude=("phone_digest",))
    register(Guardianship)
    register(Household)
    register(Consent)


register_audited_models()
