"""Session engines (SESSION_ENGINE) that record the account id beside each session row.

accounts.session_store for the database, accounts.session_store_cached for cache + database (Redis).
"""

from django.apps import apps
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DBStore


def _user_id(data) -> int | None:
    try:
        return int(data.get(SESSION_KEY))
    except (TypeError, ValueError):
        return None


class SessionStore(DBStore):
    @classmethod
    def get_model_class(cls):
        # By name: accounts.models imports this module for UserSession.get_session_store_class().
        return apps.get_model("accounts", "UserSession")

    def create_model_instance(self, data):
        # Every save writes the current owner, so a key cycled at log-in or password change stays findable.
        obj = super().create_model_instance(data)
        obj.user_id = _user_id(data)
        return obj
