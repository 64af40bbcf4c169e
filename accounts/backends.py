from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

# normalise_phone and is_valid_phone are core's (people's validators share them); importers read them here too.
from core.phones import is_valid_phone, normalise_phone  # noqa: F401


class PhoneBackend(ModelBackend):
    """Log-in by mobile number. Normalises what people type: spaces, dashes, a +86 prefix, full-width digits.

    ModelBackend's steps, with one addition: a disabled account that gave its correct password is noted on the
    request (request.disabled_account), so that the log-in form can say it is disabled and whom to ask. With a
    wrong password it is refused like any other, and either way the attempt counts as a failure (lockout)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        user_model = get_user_model()
        phone = normalise_phone(username if username is not None else kwargs.get(user_model.USERNAME_FIELD))
        if not phone or password is None:
            return None
        try:
            user = user_model._default_manager.system(reason="log-in finds the account by its phone").get(
                **{user_model.USERNAME_FIELD: phone}
            )
        except user_model.DoesNotExist:
            user_model().set_password(password)  # the hasher's time, as for an existing account
            return None
        if not user.check_password(password):
            return None
        if not self.user_can_authenticate(user):
            if request is not None:
                request.disabled_account = user
            return None
        return user

    def get_user(self, user_id):
        # The session's user, before any scope exists (ModelBackend.get_user reads _default_manager).
        user_model = get_user_model()
        try:
            user = user_model._default_manager.system(reason="the session's own user").get(pk=user_id)
        except user_model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
