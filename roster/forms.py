"""Forms for the roster pages. They only clean input; roster.services decides and writes."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from roster import services


class UploadForm(forms.Form):
    target = forms.ChoiceField(label=_("导入到"), error_messages={"required": _("请选择导入到哪个区县或学校。")})
    file = forms.FileField(
        label=_("花名册文件"),
        error_messages={"required": _("请选择要上传的文件。"), "empty": _("文件是空的，请检查后重新上传。")},
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}),
    )

    def __init__(self, *args, targets=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _("支持 .xlsx 和 .csv（UTF-8 或 GBK 编码），不超过 %(mb)d MB。") % {
            "mb": services.max_upload_bytes() // 1024 // 1024}
        self.targets = {t.value: t for t in targets}
        self.fields["target"].choices = [(t.value, t.label) for t in targets]
        if len(targets) == 1:
            self.fields["target"].initial = targets[0].value

    def clean_file(self):
        upload = self.cleaned_data["file"]
        self.cleaned_data["format"] = services.check_upload(upload)
        return upload

    def clean_target(self):
        value = self.cleaned_data["target"]
        if value not in self.targets:
            raise ValidationError(_("请选择导入到哪个区县或学校。"))
        return self.targets[value]


class ExportForm(forms.Form):
    FORMATS = [("xlsx", _("Excel 工作簿（.xlsx，推荐）")), ("csv", _("CSV（UTF-8，单张表）"))]
    scope = forms.IntegerField(label=_("范围"), error_messages={"required": _("请选择要导出的范围。")})
    part = forms.IntegerField(label=_("年级/班级"), required=False)
    format = forms.ChoiceField(label=_("格式"), choices=FORMATS, initial="xlsx", widget=forms.RadioSelect)

    def unit_id(self) -> int:
        return self.cleaned_data.get("part") or self.cleaned_data["scope"]
