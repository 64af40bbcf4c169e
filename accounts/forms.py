from django import forms
from django.contrib.auth.password_validation import password_validators_help_texts
from django.utils.translation import gettext_lazy as _

from accounts.backends import is_valid_phone, normalise_phone
from people.models import Relation


def _big(widget: forms.Widget, **attrs) -> forms.Widget:
    widget.attrs.update({"class": "form-control form-control-lg", **attrs})
    return widget


class PhoneForm(forms.Form):
    """Step 1 of activation: the phone that receives the code."""

    phone = forms.CharField(
        label=_("手机号"), max_length=20, widget=_big(forms.TextInput(), inputmode="tel", autocomplete="tel", placeholder="13812345678")
    )

    def clean_phone(self):
        phone = normalise_phone(self.cleaned_data["phone"])
        if not is_valid_phone(phone):
            raise forms.ValidationError(_("请输入11位中国大陆手机号，例如 13812345678。"))
        return phone


class ActivationForm(PhoneForm):
    sms_code = forms.CharField(
        label=_("短信验证码"),
        max_length=6,
        min_length=6,
        widget=_big(forms.TextInput(), inputmode="numeric", autocomplete="one-time-code", placeholder=_("6位数字")),
        error_messages={"min_length": _("验证码是6位数字。"), "max_length": _("验证码是6位数字。")},
    )
    invite_code = forms.CharField(
        label=_("班级邀请码"), max_length=20, widget=_big(forms.TextInput(), autocapitalize="characters", autocomplete="off"),
        help_text=_("由班主任发放，8位字母和数字，不区分大小写。"),
    )
    child_name = forms.CharField(label=_("孩子姓名"), max_length=50, widget=_big(forms.TextInput(), autocomplete="off"))
    student_no_last4 = forms.CharField(
        label=_("孩子学籍号后四位"), max_length=4, min_length=4, widget=_big(forms.TextInput(), autocomplete="off"),
        error_messages={"min_length": _("请输入学籍号的最后4位。")},
    )
    relation = forms.ChoiceField(label=_("您是孩子的"), choices=Relation.choices)
    password = forms.CharField(
        label=_("密码"), strip=False, widget=_big(forms.PasswordInput(), autocomplete="new-password"),
        help_text=_("新用户请设置登录密码；已有共育账号（例如已为另一个孩子激活过）请输入现在的登录密码。"),
    )
    password_confirm = forms.CharField(
        label=_("再次输入密码"), strip=False, required=False, widget=_big(forms.PasswordInput(), autocomplete="new-password"),
        help_text=_("已有账号的家长可不填。"),
    )
    agree_rules = forms.BooleanField(
        label=_("我已阅读并同意《共育平台使用规则》和《隐私政策》"),
        error_messages={"required": _("请阅读并勾选同意《共育平台使用规则》和《隐私政策》，否则无法使用平台。")},
    )
    photo_publicity = forms.BooleanField(
        label=_("（可选）同意学校在活动宣传中使用有我孩子的照片"), required=False
    )
    growth_sharing = forms.BooleanField(
        label=_("（可选）同意在家校之间共享孩子的成长档案"), required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["relation"].widget.attrs.update({"class": "form-select form-select-lg"})
        for name in ("agree_rules", "photo_publicity", "growth_sharing"):
            self.fields[name].widget.attrs.update({"class": "form-check-input"})

    @staticmethod
    def password_help() -> list[str]:
        return password_validators_help_texts()
