"""The operators' admin (/ops/admin/): platform operators only, and read through the scoping layer.

Imported while apps load (settings name OpsAdminConfig), so nothing here imports a model at module level.
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

from core.crypto import mask_id_number, mask_phone, mask_student_no
from core.scoping import ScopedQuerySet, get_scope, system_scope


def is_operator(user) -> bool:
    """Platform operators: active superusers flagged is_staff. No role grants this."""
    return bool(user and user.is_active and user.is_staff and user.is_superuser)


class OpsAdminSite(admin.AdminSite):
    site_header = _("共育平台运维后台")
    site_title = _("共育平台运维")
    index_title = _("数据维护")

    def has_permission(self, request):
        return is_operator(request.user)

    def login(self, request, extra_context=None):
        """One log-in page for everyone, so lockout and the second factor apply here too."""
        nxt = request.GET.get("next", "")
        if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
            nxt = reverse("admin:index", current_app=self.name)
        if not request.user.is_authenticated:
            # (auth.views imports models; this module holds the admin AppConfig, loaded before they are ready)
            from django.contrib.auth.views import redirect_to_login  # noqa: PLC0415 — app registry not ready at import

            return redirect_to_login(nxt, reverse("accounts:login"))
        if self.has_permission(request):
            return redirect(nxt)
        raise PermissionDenied


class OpsAdminConfig(AdminConfig):
    default_site = "core.admin.OpsAdminSite"


class ScopedRawIdWidget(ForeignKeyRawIdWidget):
    """The raw-id widget labels the value already stored on an object the operator sees; Django reads it
    through _default_manager, so it is a system read (docs/decisions/0013)."""

    def label_and_url_for_value(self, value):
        with system_scope("the admin labels the value stored on a visible object"):
            return super().label_and_url_for_value(value)


class ReadOnlyAdminMixin:
    """Records that are written only by the platform (audit rows, outbox jobs): operators read, never edit."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        return {}


class ScopedModelAdmin(admin.ModelAdmin):
    """Every admin list, form and lookup reads through Model.objects.visible_to(request.user).

    Operators are superusers, whom the scoping layer shows everything; going through it anyway means
    the admin cannot drift from the one mechanism (and a future non-superuser admin is scoped for free).
    A model without its own ScopedQuerySet names the scoped relation it belongs to in scope_via.
    """

    scope_via: str | None = None
    show_full_result_count = False
    list_per_page = 50
    # Write-only fields: the form never shows the stored value (only its mask); blank keeps it.
    sensitive_fields: tuple[str, ...] = ()

    def __init__(self, model, admin_site):
        super().__init__(model, admin_site)
        if self.scope_via is None and not hasattr(model._default_manager.all(), "visible_to"):
            raise ImproperlyConfigured(f"{model.__name__} has no ScopedQuerySet: define one or set scope_via")

    def scoped_queryset(self, request):
        user = request.user
        if self.scope_via is None:
            return self.model._default_manager.all().visible_to(user)
        qs = self.model._default_manager.all()
        if get_scope(user).superuser:
            return qs.system(reason="operators see every row") if isinstance(qs, ScopedQuerySet) else qs
        related = self.model._meta.get_field(self.scope_via).related_model
        qs = qs.filter(**{f"{self.scope_via}__in": related._default_manager.all().visible_to(user)})
        return qs.scoped("scope_via") if isinstance(qs, ScopedQuerySet) else qs

    def get_queryset(self, request):
        qs = self.scoped_queryset(request)
        ordering = self.get_ordering(request)
        return qs.order_by(*ordering) if ordering else qs

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.related_model
        if "queryset" not in kwargs and hasattr(related._default_manager.all(), "visible_to"):
            kwargs["queryset"] = related._default_manager.all().visible_to(request.user)
        if db_field.name in self.raw_id_fields and "widget" not in kwargs:
            kwargs["widget"] = ScopedRawIdWidget(db_field.remote_field, self.admin_site, using=kwargs.get("using"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        sensitive = [name for name in self.sensitive_fields if name in form.base_fields]
        if not sensitive:
            return form
        return type(form.__name__, (WriteOnlySensitiveMixin, form), {"sensitive_names": sensitive})


def masked(name: str, value: str) -> str:
    if "phone" in name:
        return mask_phone(value)
    return mask_student_no(value) if name == "student_no" else mask_id_number(value)


class WriteOnlySensitiveMixin:
    """Phone and ID numbers are typed in, never shown back: the page holds only the mask."""

    sensitive_names: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.sensitive_names:
            current = getattr(self.instance, name, "") or ""
            self.initial[name] = ""
            field = self.fields[name]
            field.widget = forms.TextInput(attrs={"autocomplete": "off"})
            if current:
                field.required = False  # blank keeps the stored value
                field.help_text = _("当前：%(masked)s。留空表示不修改。") % {"masked": masked(name, current)}

    def clean(self):
        data = super().clean()
        for name in self.sensitive_names:
            if not data.get(name) and self.instance.pk:
                data[name] = getattr(self.instance, name)
        return data
