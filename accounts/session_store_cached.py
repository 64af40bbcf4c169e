"""Cache + database session engine that records the account id (see accounts.session_store)."""

from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore

from accounts.session_store import _user_id


class SessionStore(CachedDBStore):
    cache_key_prefix = "gongyu.session"

    @classmethod
    def get_model_class(cls):
        from accounts.models import UserSession

        return UserSession

    def create_model_instance(self, data):
        obj = super().create_model_instance(data)
        obj.user_id = _user_id(data)
        return obj
