"""Audit of log-in events and registration of audited models (people and org data)."""

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver

from audit.services import record


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    from audit.middleware import client_ip
    from audit.services import actor_for

    record("auth.login", model="accounts.user", object_id=user.pk, actor=actor_for(user, ip=client_ip(request)))


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        from audit.middleware import client_ip
        from audit.services import actor_for

        record("auth.logout", model="accounts.user", object_id=user.pk, actor=actor_for(user, ip=client_ip(request)))


def register_audited_models():
    from accounts.models import RoleAssignment, User
    from audit.registry import register
    from org.models import OrgUnit
    from people.models import Consent, Guardian, Guardianship, Household, Student

    register(User, exclude=("password", "last_login", "session_epoch"))
    register(RoleAssignment)
    register(OrgUnit)
    register(Student, sensitive=("id_number",), exclude=("id_digest",))
    register(Guardian, sensitive=("phone", "id_number"), exclude=("phone_digest",))
    register(Guardianship)
    register(Household)
    register(Consent)


register_audited_models()
