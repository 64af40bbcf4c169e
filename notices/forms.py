import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.perms import can
from notices.audience import STAFF_ROLE_CHOICES, sendable_units
from notices.models import Priority, ReplyKind
from notices.perms import SEND
from org.models import Kind
from people.models import Student

UNIT_LIST_LIMIT = 400
PICK_LIST_LIMIT = 200
CHECKBOX = forms.CheckboxInput(attrs={"class": "form-check-input"})
DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local", "class": "form-control"}, format="%Y-%m-%dT%H:%M")


class NoticeForm(forms.Form):
    title = forms.CharField(label=_("标题"), max_length=120, widget=forms.TextInput(attrs={"class": "form-control", "placeholder": _("例如：关于五一假期安全教育的通知")}))
    body = forms.CharField(
        label=_("正文"),
        max_length=20000,
        required=False,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 8}),
        help_text=_("可直接粘贴文字；空一行为新段落。支持加粗、列表、链接等简单格式，脚本和样式会被自动去除。"),
    )
    priority = forms.ChoiceField(label=_("紧急程度"), choices=Priority.choices, initial=Priority.NORMAL, widget=forms.RadioSelect)
    reply_kind = forms.ChoiceField(label=_("回执"), choices=ReplyKind.choices, initial=ReplyKind.NONE, widget=forms.RadioSelect)
    reply_per_household = forms.TypedChoiceField(
        label=_("回执方式"),
        choices=[("1", _("每户一位家长回执即可")), ("0", _("每位家长都需回执"))],
        coerce=lambda v: v == "1",
        initial="1",
        widget=forms.RadioSelect,
    )
    reply_deadline = forms.DateTimeField(label=_("回执截止时间（可选）"), required=False, widget=DATETIME_INPUT)
    publish_at = forms.DateTimeField(label=_("定时发布（可选，留空立即发布）"), required=False, widget=DATETIME_INPUT)
    units = forms.MultipleChoiceField(label=_("发送单位"), required=False, widget=forms.CheckboxSelectMultiple)
    include_guardians = forms.BooleanField(label=_("通知这些单位的全体家长"), required=False, initial=True, widget=CHECKBOX)
    staff_roles = forms.MultipleChoiceField(label=_("同时通知教职工（可选）"), required=False, choices=STAFF_ROLE_CHOICES, widget=forms.CheckboxSelectMultiple)
    picked = forms.MultipleChoiceField(label=_("指定家庭"), required=False, widget=forms.CheckboxSelectMultiple)
    student_nos = forms.CharField(
        label=_("按学籍号指定家庭（可选，每行一个）"),
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 3, "placeholder": _("完整学籍号，每行一个")}),
    )
    audience_note = forms.CharField(
        label=_("内部备注（可选，仅教职工可见，家长看不到）"),
        required=False,
        max_length=60,
        widget=forms.TextInput(attrs={"class": "form-control", "placeholder": _("例如：需要重点关注的家庭")}),
    )
    escalate_after_minutes = forms.IntegerField(
        label=_("紧急通知：多少分钟未读后自动补发短信"),
        required=False,
        min_value=5,
        max_value=1440,
        widget=forms.NumberInput(attrs={"class": "form-control"}),
    )

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        units = list(sendable_units(user).order_by("path").only("id", "name", "kind", "path", "depth")[: UNIT_LIST_LIMIT + 1])
        if len(units) > UNIT_LIST_LIMIT:
            # A big district: offer the structure down to schools and grades; classes through the search box.
            units = list(
                sendable_units(user).exclude(kind=Kind.CLASS).order_by("path").only("id", "name", "kind", "path", "depth")[:UNIT_LIST_LIMIT]
            )
        self.unit_objects = units
        if not self.is_bound and len(units) == 1:  # the only possible audience (a class teacher's class)
            self.initial.setdefault("units", [str(units[0].pk)])
        self.fields["units"].choices = [(str(u.id), u.name) for u in units]
        extra = self.data.getlist("units") if hasattr(self.data, "getlist") else []
        known = {str(u.id) for u in units}
        # Units found through the search box are checked again by audience.resolve, like every other id.
        self.fields["units"].choices += [(v, v) for v in extra if v not in known]
        students = []
        if can(user, SEND):
            students = list(
                Student.objects.visible_to(user).active().select_related("school_class").only("id", "name", "school_class__name")[
                    : PICK_LIST_LIMIT + 1
                ]
            )
        self.pick_students = students if len(students) <= PICK_LIST_LIMIT else []
        # Values are student ids, never the 学籍号 ("G" + the ID number); audience.resolve scopes them again.
        self.fields["picked"].choices = [(str(s.pk), f"{s.name}（{s.school_class.name}）") for s in self.pick_students]

    def clean_title(self):
        return self.cleaned_data["title"].strip()

    def clean_publish_at(self):
        value = self.cleaned_data.get("publish_at")
        if value and value < timezone.now() - dt.timedelta(minutes=5):
            raise forms.ValidationError(_("定时发布时间已经过去，请选择以后的时间，或留空立即发布。"))
        return value

    def student_numbers(self) -> list[str]:
        """The 学籍号 typed in the text box (the picker's ticks are picked_student_ids())."""
        typed = [line.strip() for line in (self.cleaned_data.get("student_nos") or "").replace("，", "\n").replace(",", "\n").splitlines()]
        return list(dict.fromkeys(t for t in typed if t))

    def picked_student_ids(self) -> list[str]:
        return list(self.cleaned_data.get("picked", []))


class WithdrawForm(forms.Form):
    reason = forms.CharField(label=_("撤回原因（家长会看到）"), max_length=200, widget=forms.TextInput(attrs={"class": "form-control"}))


class PreferencesForm(forms.Form):
    email = forms.EmailField(label=_("电子邮箱（可选）"), required=False, widget=forms.EmailInput(attrs={"class": "form-control"}))
    email_enabled = forms.BooleanField(label=_("通过电子邮件接收通知"), required=False, widget=CHECKBOX)
    sms_enabled = forms.BooleanField(label=_("每条通知都发短信给我（紧急通知总会发短信）"), required=False, widget=CHECKBOX)
    wechat_enabled = forms.BooleanField(label=_("通过微信接收通知（需先在微信中绑定）"), required=False, widget=CHECKBOX)
