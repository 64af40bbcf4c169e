"""Operators' admin for students, guardians, guardianships and consent records.

Phone and ID numbers and the 学籍号 are write-only here: lists and forms show only masks, and a number
typed into the search box is looked up by its digest (the stored values are encrypted and cannot be
searched as text).
"""

import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.admin import ScopedModelAdmin
from core.crypto import digest
from org.admin import DistrictChoiceMixin
from org.models import Kind
from people.models import Consent, Guardian, Guardianship, Student
from people.services import consent_withdraw

_STUDENT_NO_RE = re.compile(r"^[0-9A-Z]{5,32}$")  # as the roster import accepts it


def _digest_search(queryset, search_term: str, digest_field: str):
    term = search_term.strip()
    if term and len(term) >= 11 and term.rstrip("Xx").isdigit():
        return queryset.filter(**{digest_field: digest(term)})
    return None


class StudentAdminForm(forms.ModelForm):
    class Meta:
        model = Student
        fields = ("school_class", "name", "gender", "birth_date", "student_no", "id_number", "is_active")

    def clean_student_no(self):
        value = (self.cleaned_data.get("student_no") or "").strip().upper()
        if value and not _STUDENT_NO_RE.match(value):
            raise ValidationError(_("学籍号只能由字母和数字组成（5–32位），请核对。"))
        return value

    def clean(self):
        data = super().clean()
        cls = data.get("school_class")
        if cls is not None and cls.kind != Kind.CLASS:
            self.add_error("school_class", _("请选择一个班级。"))
        elif cls is not None and data.get("student_no"):
            clash = Student.objects.filter(district_id=cls.district_id).with_student_no(data["student_no"]).exclude(pk=self.instance.pk)
            if clash.exists():
                self.add_error("student_no", _("该学籍号在本区已存在，请核对。"))
        return data


@admin.register(Student)
class StudentAdmin(ScopedModelAdmin):
    form = StudentAdminForm
    fields = ("school_class", "name", "gender", "birth_date", "student_no", "id_number", "is_active")
    sensitive_fields = ("id_number", "student_no")  # the national 学籍号 is "G" + the ID number
    list_display = ("name", "student_no_masked", "school_class", "id_number_masked", "is_active")
    list_filter = ("is_active", "gender")
    list_select_related = ("school_class",)
    search_fields = ("name",)
    raw_id_fields = ("school_class",)
    ordering = ("id",)

    @admin.display(description=_("学籍号"))
    def student_no_masked(self, obj):
        return obj.student_no_masked

    @admin.display(description=_("身份证号"))
    def id_number_masked(self, obj):
        return obj.id_number_masked

    def get_search_results(self, request, queryset, search_term):
        found = _digest_search(queryset, search_term, "id_digest")
        if found is not None:
            return found | queryset.filter(student_no_digest=digest(search_term.strip())), False
        term = search_term.strip()
        if _STUDENT_NO_RE.match(term.upper()):  # a 学籍号 typed in full, or a Latin name
            return queryset.filter(Q(name__icontains=term) | Q(student_no_digest=digest(term))), False
        return super().get_search_results(request, queryset, search_term)

    def save_model(self, request, obj, form, change):
        # School and district follow the class (class → grade → school), as the importers set them.
        cls = obj.school_class
        obj.district_id = cls.district_id
        obj.school_id = cls.parent.parent_id
        super().save_model(request, obj, form, change)


class GuardianAdminForm(forms.ModelForm):
    class Meta:
        model = Guardian
        fields = ("district", "name", "phone", "id_number", "user", "household", "is_active")

    def clean(self):
        data = super().clean()
        phone, district = data.get("phone"), data.get("district")
        if phone and district is not None:
            clash = Guardian.objects.system(reason="a phone is unique in its district").filter(district=district, phone_digest=digest(phone)).exclude(pk=self.instance.pk)
            if clash.exists():
                self.add_error("phone", _("本区已有使用该手机号的监护人，请先核对是否为同一人。"))
        return data


@admin.register(Guardian)
class GuardianAdmin(DistrictChoiceMixin, ScopedModelAdmin):
    form = GuardianAdminForm
    fields = ("district", "name", "phone", "id_number", "user", "household", "is_active")
    sensitive_fields = ("phone", "id_number")
    list_display = ("name", "phone_masked", "user", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name",)
    raw_id_fields = ("user", "household")
    ordering = ("id",)

    @admin.display(description=_("手机号"))
    def phone_masked(self, obj):
        return obj.phone_masked

    def get_search_results(self, request, queryset, search_term):
        found = _digest_search(queryset, search_term, "phone_digest")
        if found is not None:
            return found, False
        return super().get_search_results(request, queryset, search_term)


@admin.register(Guardianship)
class GuardianshipAdmin(ScopedModelAdmin):
    # Guardianship has no ScopedQuerySet of its own: a link is visible when its student is.
    scope_via = "student"
    list_display = ("id", "guardian", "student", "relation", "is_primary", "lives_with", "verified_at")
    list_filter = ("relation", "is_primary")
    list_select_related = ("guardian", "student")
    raw_id_fields = ("guardian", "student")
    ordering = ("id",)


@admin.register(Consent)
class ConsentAdmin(ScopedModelAdmin):
    """Consent is the guardian's own act: it is never typed in, edited or deleted here, only withdrawn."""

    list_display = ("id", "guardian", "student", "purpose", "rules_version", "given_at", "withdrawn_at", "channel")
    list_filter = ("purpose", "rules_version")
    list_select_related = ("guardian", "student")
    actions = ["withdraw"]
    ordering = ("-given_at",)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Consent._meta.fields]

    @admin.action(description=_("撤回所选同意"))
    def withdraw(self, request, queryset):
        done = 0
        for consent in queryset.filter(withdrawn_at__isnull=True):
            try:
                consent_withdraw(actor=request.user, consent=consent)
                done += 1
            except (ValidationError, PermissionDenied) as exc:
                reason = " ".join(getattr(exc, "messages", [])) or _("无权撤回这条同意记录。")
                messages.warning(request, _("第 %(id)s 条未撤回：%(reason)s") % {"id": consent.pk, "reason": reason})
        messages.success(request, _("已撤回 %(n)d 条同意记录。") % {"n": done})
