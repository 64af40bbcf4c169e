"""Forms for adding and editing org units. They only clean input; org.services decides and writes."""

from django import forms
from django.utils.translation import gettext_lazy as _

from org.models import Kind, PartnerCategory, Stage
from org.selectors import unit_code_taken

# The attributes that mean something for each kind of unit (the rest stay blank).
KIND_FIELDS = {
    Kind.DISTRICT: ["name", "code", "address"],
    Kind.STREET: ["name", "code", "address"],
    Kind.COMMUNITY: ["name", "code", "address"],
    Kind.SCHOOL: ["name", "code", "stage", "address"],
    Kind.GRADE: ["name", "grade_year"],
    Kind.CLASS: ["name", "class_no", "entry_year"],
    Kind.DEPARTMENT: ["name", "code", "address"],
    Kind.PARTNER: ["name", "code", "partner_category", "address"],
}

NAME_PLACEHOLDERS = {
    Kind.STREET: _("例如：城关街道"),
    Kind.COMMUNITY: _("例如：幸福里社区"),
    Kind.SCHOOL: _("例如：实验小学"),
    Kind.GRADE: _("例如：三年级"),
    Kind.CLASS: _("例如：三(2)班"),
    Kind.DEPARTMENT: _("例如：区民政局"),
    Kind.PARTNER: _("例如：区科技馆"),
}


class UnitForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=100, error_messages={"required": _("请填写名称。")})
    code = forms.CharField(label=_("编码"), max_length=32, required=False, help_text=_("学校标识码或单位编码，区内唯一；可不填"))
    stage = forms.ChoiceField(
        label=_("学段"), choices=[("", _("请选择学段"))] + list(Stage.choices), error_messages={"required": _("请选择学校的学段。")}
    )
    grade_year = forms.IntegerField(
        label=_("年级序号"),
        min_value=-2,
        max_value=12,
        required=False,
        help_text=_("一年级填1，初一填7，高一填10；幼儿园小班填-2、中班填-1、大班填0"),
        error_messages={"min_value": _("年级序号应在-2到12之间。"), "max_value": _("年级序号应在-2到12之间。"), "invalid": _("请填写数字。")},
    )
    class_no = forms.IntegerField(
        label=_("班号"),
        min_value=1,
        max_value=99,
        required=False,
        error_messages={"min_value": _("班号应在1到99之间。"), "max_value": _("班号应在1到99之间。"), "invalid": _("请填写数字。")},
    )
    entry_year = forms.IntegerField(
        label=_("入学年份"),
        min_value=1990,
        max_value=2100,
        required=False,
        error_messages={"min_value": _("请填写四位数的入学年份，例如2024。"), "max_value": _("请填写四位数的入学年份，例如2024。"), "invalid": _("请填写数字。")},
    )
    partner_category = forms.ChoiceField(
        label=_("合作单位类别"), choices=[("", _("请选择类别"))] + list(PartnerCategory.choices), required=False
    )
    address = forms.CharField(label=_("地址"), max_length=200, required=False)

    def __init__(self, *args, kind: str, district_id: int | None, instance=None, **kwargs):
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {f: getattr(instance, f) for f in KIND_FIELDS[Kind(kind)]}
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.district_id = district_id
        self.instance = instance
        keep = KIND_FIELDS[Kind(kind)]
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]
        if "name" in self.fields and kind in NAME_PLACEHOLDERS:
            self.fields["name"].widget.attrs["placeholder"] = NAME_PLACEHOLDERS[kind]
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("请填写名称。"))
        return name

    def clean_code(self):
        code = self.cleaned_data.get("code", "").strip().upper()
        if code and unit_code_taken(district_id=self.district_id, code=code, exclude_pk=getattr(self.instance, "pk", None)):
            raise forms.ValidationError(_("编码“%(code)s”在本区已被使用，请换一个编码或留空。") % {"code": code})
        return code

    def service_fields(self) -> dict:
        """Cleaned values as keyword arguments for org.services (name included)."""
        return {k: v for k, v in self.cleaned_data.items()}
