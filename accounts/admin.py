"""Operators' admin for accounts (phone as the user name) and role assignments."""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import BaseUserCreationForm, UserChangeForm
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

from accounts.models import RoleAssignment, User
from accounts.roles import RULES, Role
from accounts.services import user_disable
from core.admin import ScopedModelAdmin
from core.crypto import mask_phone

# Roles are RoleAssignments held in a scope; Django's groups and model permissions are not used.
admin.site.unregister(Group)


class OpsUserCreationForm(BaseUserCreationForm):
    class Meta:
        model = User
        fields = ("phone", "name")


class OpsUserChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = ("phone", "password", "name", "language", "care_mode", "is_active", "is_staff", "is_superuser")
        field_classes = {}


@admin.register(User)
class UserAdmin(ScopedModelAdmin, BaseUserAdmin):
    form = OpsUserChangeForm
    add_form = OpsUserCreationForm
    fieldsets = (
        (None, {"fields": ("phone", "password")}),
        (_("个人信息"), {"fields": ("name", "language", "care_mode")}),
        (_("权限"), {"fields": ("is_active", "is_staff", "is_superuser")}),
        (_("时间"), {"fields": ("last_login", "date_joined", "password_changed_at")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("phone", "name", "password1", "password2")}),)
    readonly_fields = ("last_login", "date_joined", "password_changed_at")
    list_display = ("id", "name", "phone_masked", "is_active", "is_staff", "is_superuser", "date_joined")
    list_filter = ("is_active", "is_staff", "is_superuser")
    search_fields = ("name", "=phone")
    ordering = ("id",)
    filter_horizontal = ()

    @admin.display(description=_("手机号"))
    def phone_masked(self, obj):
        return mask_phone(obj.phone)

    def save_model(self, request, obj, form, change):
        disabled = change and "is_active" in form.changed_data and not obj.is_active
        if disabled:
            obj.is_active = True  # user_disable makes the change, so the sessions end with it
        super().save_model(request, obj, form, change)
        if disabled:
            user_disable(actor=request.user, user=obj)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is not None and obj.pk == request.user.pk and "is_active" in form.base_fields:
            # Nobody could switch the account on again from inside it.
            form.base_fields["is_active"].disabled = True
        return form


class RoleAssignmentAdminForm(forms.ModelForm):
    class Meta:
        model = RoleAssignment
        fields = ("user", "role", "unit", "student", "title", "is_active", "starts_at", "ends_at")

    def clean(self):
        data = super().clean()
        role, unit, student = data.get("role"), data.get("unit"), data.get("student")
        rule = RULES.get(role)
        if role == Role.GUARDIAN:
            self.add_error("role", _("家长身份来自监护关系，不能在此授予。"))
        elif rule is not None and unit is not None and unit.kind not in rule.unit_kinds:
            self.add_error("unit", _("该角色不能设在这类单位上。"))
        if student is not None and rule is not None and not rule.student_assignable:
            self.add_error("student", _("该角色不能绑定到单个学生。"))
        return data


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(ScopedModelAdmin):
    form = RoleAssignmentAdminForm
    fields = ("user", "role", "unit", "student", "title", "is_active", "starts_at", "ends_at")
    list_display = ("id", "user", "role", "unit", "student", "is_active", "starts_at", "ends_at")
    list_filter = ("role", "is_active")
    list_select_related = ("user", "unit", "student")
    raw_id_fields = ("user", "unit", "student")
    ordering = ("id",)

    def save_model(self, request, obj, form, change):
        obj.district_id = obj.unit.district_id
        if not change:
            obj.granted_by = request.user
        super().save_model(request, obj, form, change)
