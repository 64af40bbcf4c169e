"""core.errors / core.api.refused: the one way services refuse and pages and the API show it."""

from django.core.exceptions import ValidationError

from activities import services as activity_services
from core.api import refused
from core.errors import messages_of, refusal
from courses import services as course_services


def test_a_refusal_carries_its_message_and_code():
    exc = refusal("报名已截止。", "signup_closed")
    assert (exc.messages, exc.code) == (["报名已截止。"], "signup_closed")
    # The apps raise the same helper, not a copy of it.
    assert activity_services._err is refusal and course_services._err is refusal


def test_messages_of_lists_plain_and_field_errors():
    assert messages_of(refusal("请填写名称。", "name")) == ["请填写名称。"]
    assert messages_of(ValidationError({"title": ["请填写标题。"], "body": ["请填写正文。", "正文太长。"]})) == ["请填写标题。", "请填写正文。", "正文太长。"]


def test_the_api_answers_a_refusal_with_409_and_its_code():
    status = refused(refusal("该场次已满。", "full"))
    assert (status.status_code, status.value) == (409, {"detail": "该场次已满。", "code": "full"})
    assert refused(ValidationError("无代码")).value == {"detail": "无代码", "code": "invalid"}
