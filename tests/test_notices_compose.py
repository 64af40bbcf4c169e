"""Issue 12: publishing asks 发给 N 位家长？ first (N counted by the audience's own rules, equal to the
notice's recipients once sent), preselects the only possible audience, and reports every error at once."""

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from notices.models import Notice
from tests.test_notices_helpers import login, notice_settings  # noqa: F401

BASE = {"title": "春季运动会通知", "body": "请穿运动服。", "priority": "normal", "reply_kind": "none", "reply_per_household": "1", "include_guardians": "on"}


def test_publish_asks_how_many_first_and_the_number_is_the_real_one(client, world, django_capture_on_commit_callbacks):
    login(client, world.school_admin_a)
    data = {**BASE, "units": [str(world.school_a.pk)], "staff_roles": ["class_teacher"]}
    answer = client.post(reverse("notices:preview"), data, HTTP_HX_REQUEST="true")
    html = answer.content.decode()
    assert answer.status_code == 200 and "发给 5 位家长和 2 位教职工？" in html and 'data-testid="confirm-send"' in html
    assert not Notice.objects.exists()  # asking sends nothing
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(reverse("notices:create"), {**data, "confirmed": "1"})
    notice = Notice.objects.get()
    assert sent.status_code == 302 and notice.recipient_count == 5 + 2


def test_without_javascript_the_server_asks_the_same(client, world, django_capture_on_commit_callbacks):
    login(client, world.teacher_a1)
    data = {**BASE, "units": [str(world.class_a1.pk)]}
    html = client.post(reverse("notices:create"), {**data, "step": "confirm"}).content.decode()
    assert "发给 3 位家长？" in html and not Notice.objects.exists()
    assert 'value="春季运动会通知"' in html  # the form keeps what was typed
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("notices:create"), {**data, "confirmed": "1"})
    assert Notice.objects.get().recipient_count == 3


def test_every_error_is_reported_at_once(client, world):
    login(client, world.teacher_a1)
    past = (timezone.localtime() - dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    data = {**BASE, "title": "", "reply_kind": "confirm", "reply_deadline": past, "attachments": [SimpleUploadedFile("a.exe", b"MZ")]}
    for url in (reverse("notices:preview"), reverse("notices:create")):
        data["attachments"] = [SimpleUploadedFile("a.exe", b"MZ")]
        html = client.post(url, {**data, "step": "confirm"}).content.decode()
        for message in ("请至少选择一个发送单位", "回执截止时间应晚于发布时间", "a.exe", 'href="#id_title"'):
            assert message in html, (url, message)
        assert 'data-testid="confirm-send"' not in html
    assert not Notice.objects.exists()


def test_the_only_possible_audience_is_preselected(client, world):
    login(client, world.teacher_a1)  # one class
    html = client.get(reverse("notices:create")).content.decode()
    assert f'value="{world.class_a1.pk}" id="unit-{world.class_a1.pk}" checked' in html
    login(client, world.school_admin_a)  # a school, its grades and classes: nothing is assumed
    assert " checked>" not in client.get(reverse("notices:create")).content.decode().split('id="unit-list"')[1].split("</fieldset>")[0]
