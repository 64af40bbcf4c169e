"""Cache + database session engine that records the account id (see accounts.session_store)."""

from django.apps import apps
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore

from accounts.session_store import _user_id


class SessionStore(CachedDBStore):
    cache_key_prefix = "gongyu.session"

    @classmethod
    def get_model_class(cls):
        # By name: accounts.models imports this module for UserSession.get_session_store_class().
        return apps.get_model("accounts", "UserSession")

    def create_model_instance(self, data):
        obj = super().create_model_instance(data)
        obj.user_id = _user_id(data)
        return obj
