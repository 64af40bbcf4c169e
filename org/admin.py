"""Operators' admin for the organisation tree. Writes go through org.services, so the materialised
path, the district and the audit row are right whichever screen made the change."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.admin import ScopedModelAdmin
from org.models import Kind, OrgUnit
from org.services import _validate_placement, unit_create, unit_set_active, unit_update


class DistrictChoiceMixin:
    """A `district` foreign key offers districts only (it points at OrgUnit, which holds every kind)."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "district" and db_field.related_model is OrgUnit:
            field.queryset = field.queryset.filter(kind=Kind.DISTRICT)
        return field


class OrgUnitAdminForm(forms.ModelForm):
    class Meta:
        model = OrgUnit
        fields = (
            "kind", "name", "code", "parent", "stage", "grade_year", "class_no", "entry_year",
            "invite_code", "partner_category", "address", "is_active", "sort_order",
        )

    def clean(self):
        data = super().clean()
        unit = self.instance
        kind = data.get("kind", unit.kind)
        parent = data.get("parent") if unit._state.adding else unit.parent
        if unit._state.adding and kind:
            try:
                _validate_placement(kind=kind, parent=parent)
            except ValidationError as exc:
                self.add_error("parent" if kind != Kind.DISTRICT else "kind", exc)
        code = (data.get("code") or "").strip()
        if code:
            district_id = (parent.district_id if parent else None) if unit._state.adding else unit.district_id
            if district_id and OrgUnit.objects.system(reason="a unit code is unique in its district").filter(district_id=district_id, code=code).exclude(pk=unit.pk).exists():
                self.add_error("code", _("该编码在本区已被使用，请换一个。"))
        if not unit._state.adding and unit.kind == Kind.DISTRICT and data.get("is_active") is False:
            self.add_error("is_active", _("区县不能停用。"))
        return data


@admin.register(OrgUnit)
class OrgUnitAdmin(ScopedModelAdmin):
    form = OrgUnitAdminForm
    list_display = ("name", "kind", "code", "path", "is_active")
    list_filter = ("kind", "is_active", "stage")
    search_fields = ("name", "=code", "=invite_code")
    raw_id_fields = ("parent",)
    readonly_fields = ("path", "depth", "district")
    ordering = ("path",)

    def get_readonly_fields(self, request, obj=None):
        # Moving a unit would rewrite every path below it: that is a service of its own, not an edit.
        return (*self.readonly_fields, "kind", "parent") if obj else self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return False  # units are switched off with their subtree, never deleted

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if not change:
            extra = {k: v for k, v in data.items() if k not in ("kind", "name", "parent")}
            unit = unit_create(actor=request.user, kind=data["kind"], name=data["name"], parent=data.get("parent"), **extra)
            for f in OrgUnit._meta.concrete_fields:
                setattr(obj, f.attname, getattr(unit, f.attname))
            obj._state.adding, obj._state.db = False, unit._state.db
            return
        toggled = "is_active" in form.changed_data
        if toggled:
            obj.is_active = not data["is_active"]  # unit_set_active switches the whole subtree below
        fields = {k: data[k] for k in form.changed_data if k not in ("kind", "parent", "is_active")}
        if fields:
            unit_update(actor=request.user, unit=obj, **fields)
        if toggled:
            unit_set_active(actor=request.user, unit=obj, active=data["is_active"])
