from django import forms
from django.utils.translation import gettext_lazy as _

from activities.models import Activity, CampaignKind
from activities.perms import MANAGE
from activities.reach import audience_units
from core.ids import IdModelChoiceField, IdModelMultipleChoiceField
from core.perms import can, perm_paths
from core.scoping import get_scope, prefix_q
from notices.perms import SEND as NOTICES_SEND
from org.models import Kind, OrgUnit

MAX_CAPACITY = 100_000  # places in one session: beyond any venue, and within the database column
DT_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local", "class": "form-control"}, format="%Y-%m-%dT%H:%M")
DATE_WIDGET = forms.DateInput(attrs={"type": "date", "class": "form-control"}, format="%Y-%m-%d")


def organiser_units(user):
    """Units the user may organise in the name of (activities.manage), for the owner field."""
    scope = get_scope(user)
    qs = OrgUnit.objects.visible_to(user).filter(is_active=True)
    if scope.superuser:
        return qs.exclude(kind=Kind.GRADE)
    q = prefix_q("path", perm_paths(scope, MANAGE))
    return qs.filter(q).exclude(kind=Kind.GRADE) if q is not None else qs.none()


def _audience_qs(user):
    return audience_units(user).order_by("path")


class UnitChoiceField(IdModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.get_kind_display()} · {obj.full_name if obj.kind == Kind.CLASS else obj.name}"


class UnitMultipleField(IdModelMultipleChoiceField):
    """Rendered as a checkbox list with a search box (activities/picker.js): a 50-item multi-select
    cannot be used on a phone."""

    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, obj):
        return f"{obj.get_kind_display()} · {obj.full_name if obj.kind == Kind.CLASS else obj.name}"


def settle_choices(form, unit_fields=(), choice_fields=()) -> None:
    """No "---------" rows: a unit field with one option has it chosen, with several it asks 请选择;
    a required choice field lists its choices only (its first or model default is preselected); a
    multiple unit field with a single option has it ticked."""
    for name in unit_fields:
        field = form.fields.get(name)
        if field is None:
            continue
        units = list(field.queryset[:2])
        if isinstance(field, forms.ModelMultipleChoiceField):
            if len(units) == 1 and not form.is_bound and not form.initial.get(name):
                form.initial[name] = [units[0].pk]
            continue
        if len(units) == 1:
            field.empty_label = None
            form.initial.setdefault(name, units[0].pk)
        else:
            field.empty_label = _("请选择")
    for name in choice_fields:
        field = form.fields.get(name)
        if field is not None and field.required:
            field.choices = [(v, label) for v, label in field.choices if v != ""]


class ActivityForm(forms.ModelForm):
    owner_unit = UnitChoiceField(label=_("主办单位"), queryset=OrgUnit.objects.none())
    audience_units = UnitMultipleField(label=_("面向范围"), queryset=OrgUnit.objects.none(), help_text=_("可多选：班级、年级或整所学校"))
    co_organisers = UnitMultipleField(label=_("协办单位"), queryset=OrgUnit.objects.none(), required=False,
                                      help_text=_("例如社区、场馆、合作单位；协办单位的联系人可以协助签到"))

    class Meta:
        model = Activity
        fields = [
            "kind", "title", "owner_unit", "co_organisers", "audience_units", "audience", "description", "venue",
            "off_campus", "safety_plan", "responsible_name", "responsible_contact", "requires_signup", "max_party_size",
            "signup_opens_at", "signup_closes_at", "credited_hours", "announce",
        ]
        widgets = {
            "signup_opens_at": DT_WIDGET,
            "signup_closes_at": DT_WIDGET,
            "description": forms.Textarea(attrs={"rows": 3}),
            "safety_plan": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner_unit"].queryset = organiser_units(user)
        self.fields["audience_units"].queryset = _audience_qs(user)
        district_ids = get_scope(user).district_ids
        self.fields["co_organisers"].queryset = OrgUnit.objects.system(reason="co-organisers: any unit of the user's districts").filter(
            is_active=True, kind__in=[Kind.SCHOOL, Kind.STREET, Kind.COMMUNITY, Kind.DEPARTMENT, Kind.PARTNER]
        ).filter(district_id__in=district_ids) if district_ids else OrgUnit.objects.none()
        if self.instance.pk:
            del self.fields["owner_unit"]
        if not can(user, NOTICES_SEND):
            del self.fields["announce"]  # a partner or community cannot send notices: the tick would do nothing
        settle_choices(self, unit_fields=("owner_unit", "audience_units"), choice_fields=("kind", "audience"))
        if not self.instance.pk and not self.is_bound:
            self.initial.setdefault("kind", "parent_child")
        for name, f in self.fields.items():
            if isinstance(f.widget, forms.CheckboxSelectMultiple):
                f.widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(f.widget, forms.CheckboxInput):
                f.widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(f.widget, forms.SelectMultiple):
                f.widget.attrs.setdefault("class", "form-select")
                f.widget.attrs.setdefault("size", "6")
            elif isinstance(f.widget, forms.Select):
                f.widget.attrs.setdefault("class", "form-select")
            else:
                f.widget.attrs.setdefault("class", "form-control")
            f.widget.attrs.setdefault("id", f"id_{name}")


class SessionForm(forms.Form):
    starts_at = forms.DateTimeField(label=_("开始时间"), widget=DT_WIDGET)
    ends_at = forms.DateTimeField(label=_("结束时间"), widget=DT_WIDGET)
    capacity = forms.IntegerField(label=_("名额（人）"), required=False, min_value=1, max_value=MAX_CAPACITY,
                                  widget=forms.NumberInput(attrs={"class": "form-control"}), help_text=_("留空表示不限"))
    venue = forms.CharField(label=_("地点（与活动不同时填写）"), required=False, max_length=200,
                            widget=forms.TextInput(attrs={"class": "form-control"}))

    def clean(self):
        data = super().clean()
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            raise forms.ValidationError(_("结束时间应晚于开始时间。"))
        return data


class CampaignForm(forms.Form):
    kind = forms.ChoiceField(label=_("类型"), choices=CampaignKind.choices, widget=forms.Select(attrs={"class": "form-select"}))
    title = forms.CharField(label=_("主题"), max_length=120, widget=forms.TextInput(attrs={"class": "form-control"}))
    owner_unit = UnitChoiceField(label=_("发起单位"), queryset=OrgUnit.objects.none(), widget=forms.Select(attrs={"class": "form-select"}))
    audience_units = UnitMultipleField(label=_("面向范围"), queryset=OrgUnit.objects.none(),
                                       widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}))
    description = forms.CharField(label=_("活动说明"), required=False, widget=forms.Textarea(attrs={"class": "form-control", "rows": 3}))
    starts_on = forms.DateField(label=_("开始日期"), widget=DATE_WIDGET)
    ends_on = forms.DateField(label=_("结束日期"), widget=DATE_WIDGET)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner_unit"].queryset = organiser_units(user)
        self.fields["audience_units"].queryset = _audience_qs(user)
        settle_choices(self, unit_fields=("owner_unit", "audience_units"))
