from django import forms
from django.utils.translation import gettext_lazy as _

from homeschool.models import Stage, Target, Topic, VisitMode, VisitStatus

TEXT = {"class": "form-control"}
SELECT = {"class": "form-select"}
DATE = forms.DateInput(attrs={"type": "date", "class": "form-control"}, format="%Y-%m-%d")


class AskForm(forms.Form):
    student = forms.TypedChoiceField(label=_("关于哪个孩子"), coerce=int, widget=forms.Select(attrs=SELECT))
    target = forms.ChoiceField(label=_("向谁咨询"), choices=Target.choices, initial=Target.TEACHER, widget=forms.RadioSelect)
    topic = forms.ChoiceField(label=_("话题"), choices=Topic.choices, initial=Topic.OTHER, widget=forms.Select(attrs=SELECT))
    subject = forms.CharField(label=_("一句话问题"), max_length=80, widget=forms.TextInput(attrs={**TEXT, "placeholder": _("例如：孩子写作业拖拉怎么办？")}))
    body = forms.CharField(label=_("详细情况"), max_length=4000, widget=forms.Textarea(attrs={**TEXT, "rows": 5}))

    def __init__(self, children, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["student"].choices = [(c.pk, c.name) for c in children]


class MessageForm(forms.Form):
    body = forms.CharField(label=_("回复"), max_length=4000, widget=forms.Textarea(attrs={**TEXT, "rows": 3}))


class FAQForm(forms.Form):
    question = forms.CharField(label=_("问题（已去除姓名、班级等信息，请再核对）"), max_length=2000, widget=forms.Textarea(attrs={**TEXT, "rows": 3}))
    answer = forms.CharField(label=_("解答"), max_length=6000, widget=forms.Textarea(attrs={**TEXT, "rows": 6}))
    stage = forms.ChoiceField(label=_("学段"), choices=[("", _("所有学段")), *Stage.choices], required=False, widget=forms.Select(attrs=SELECT))
    topic = forms.ChoiceField(label=_("话题"), choices=Topic.choices, widget=forms.Select(attrs=SELECT))


class GuideForm(forms.Form):
    author_unit = forms.TypedChoiceField(label=_("发布单位（该单位的家庭会收到）"), coerce=int, widget=forms.Select(attrs=SELECT))
    title = forms.CharField(label=_("标题"), max_length=80, widget=forms.TextInput(attrs={**TEXT, "placeholder": _("例如：如何应对孩子的情绪波动")}))
    summary = forms.CharField(label=_("一句话导读（可选）"), max_length=120, required=False, widget=forms.TextInput(attrs=TEXT))
    stage = forms.ChoiceField(label=_("适用学段"), choices=[("", _("所有学段")), *Stage.choices], required=False, widget=forms.Select(attrs=SELECT))
    topic = forms.ChoiceField(label=_("话题"), choices=Topic.choices, widget=forms.Select(attrs=SELECT))
    body = forms.CharField(label=_("正文"), max_length=20000, widget=forms.Textarea(attrs={**TEXT, "rows": 10}))

    def __init__(self, units, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["author_unit"].choices = [(u.pk, u.full_name) for u in units]


class VisitPlanForm(forms.Form):
    student = forms.TypedChoiceField(label=_("学生"), coerce=int, widget=forms.Select(attrs=SELECT))
    planned_for = forms.DateField(label=_("计划日期"), widget=DATE)
    mode = forms.ChoiceField(label=_("方式"), choices=VisitMode.choices, widget=forms.Select(attrs=SELECT))

    def __init__(self, students, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["student"].choices = [(s.pk, s.name) for s in students]


class VisitRecordForm(forms.Form):
    status = forms.ChoiceField(label=_("状态"), choices=VisitStatus.choices, widget=forms.Select(attrs=SELECT))
    mode = forms.ChoiceField(label=_("方式"), choices=VisitMode.choices, widget=forms.Select(attrs=SELECT))
    visited_on = forms.DateField(label=_("家访日期"), required=False, widget=DATE)
    participants = forms.CharField(label=_("参加人员"), max_length=200, required=False, widget=forms.TextInput(attrs={**TEXT, "placeholder": _("例如：班主任、母亲、外婆")}))
    topics = forms.CharField(label=_("交流内容"), max_length=2000, required=False, widget=forms.Textarea(attrs={**TEXT, "rows": 4}))
    follow_ups = forms.CharField(label=_("约定的后续事项"), max_length=1000, required=False, widget=forms.Textarea(attrs={**TEXT, "rows": 2}))
    follow_up_due = forms.DateField(label=_("后续事项期限"), required=False, widget=DATE)


class ExpertForm(forms.Form):
    phone = forms.CharField(label=_("专家账号手机号"), max_length=11, widget=forms.TextInput(attrs=TEXT))
    title = forms.CharField(label=_("头衔/专长"), max_length=60, required=False, widget=forms.TextInput(attrs={**TEXT, "placeholder": _("例如：心理咨询师、家庭教育指导师")}))
