"""Notices for the mobile client: the inbox (open = read, reply in place) and the sender's figures.

Recipients never see other recipients or how the audience was picked: the schemas below have no
such field. Objects outside the user's scope answer 404.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, JsonResponse
from django.urls import reverse
from django.utils import timezone
from ninja import Field, Path, Query, Router, Schema, Status
from ninja.errors import AuthenticationError
from ninja.responses import NinjaJSONEncoder

from accounts.api import TokenAuth, signed_in
from core.api import MAX_ID
from core.scoping import fetch_for, get_scope
from notices import selectors, services
from notices.models import Receipt
from org.models import SchoolClass
from people.models import Guardian, Student

router = Router(tags=["通知公告"])


class ErrorOut(Schema):
    detail: str


class AttachmentOut(Schema):
    id: int
    name: str
    size: int
    url: str


class InboxItemOut(Schema):
    notice_id: int
    title: str
    sender: str
    priority: str
    published_at: dt.datetime
    read: bool
    needs_reply: bool
    replied: bool
    withdrawn: bool
    children: list[str] = Field(description="本通知涉及的您的孩子")


class InboxOut(Schema):
    items: list[InboxItemOut]
    count: int
    unread: int
    page: int
    page_size: int


class InboxQuery(Schema):
    child: int | None = Field(None, ge=1, le=MAX_ID, description="只看与该孩子有关的通知")
    unread: bool = Field(False, description="只看未读")
    page: int = Field(1, ge=1, le=10_000)
    page_size: int = Field(20, ge=1, le=100)


class NoticeOut(Schema):
    notice_id: int
    title: str
    sender: str
    priority: str
    published_at: dt.datetime
    body_html: str = Field(description="已净化的正文 HTML（撤回后为空）")
    read_at: dt.datetime | None
    reply_kind: str
    reply_options: list[str]
    reply: str
    reply_comment: str
    replied_at: dt.datetime | None
    replied_by_household: bool = Field(description="已由同一家庭的其他监护人回执")
    reply_deadline: dt.datetime | None
    withdrawn: bool
    withdraw_reason: str
    children: list[str]
    attachments: list[AttachmentOut]


class ReplyIn(Schema):
    choice: str = Field(..., max_length=10, description="confirm，或 agree / disagree")
    comment: str = Field("", max_length=200)


def _item(i: selectors.InboxItem) -> dict:
    n = i.notice
    return {
        "notice_id": n.pk,
        "title": n.title,
        "sender": n.sender_label,
        "priority": n.priority,
        "published_at": n.published_at or n.publish_at,
        "read": not i.unread,
        "needs_reply": n.needs_reply,
        "replied": i.receipt.replied_at is not None,
        "withdrawn": n.is_withdrawn,
        "children": i.children,
    }


@router.get("/inbox", response=InboxOut, summary="我的通知（未读在前）")
def inbox(request, filters: Query[InboxQuery]):
    data = selectors.inbox(
        request.user,
        child_id=filters.child,
        page=filters.page,
        per_page=filters.page_size,
        unread_only=filters.unread,
    )

    scope = get_scope(request.user)
    qs = Receipt.objects.own(scope)
    if data["child_id"]:
        qs = qs.filter(students__contains=f"/{data['child_id']}/")
    if filters.unread:
        qs = qs.filter(read_at__isnull=True)
    return {
        "items": [_item(i) for i in data["items"]],
        "count": qs.count(),
        "unread": data["unread"],
        "page": filters.page,
        "page_size": filters.page_size,
    }


def _notice_out(request, receipt) -> dict:
    notice = receipt.notice
    # Named already when the receipt was opened in one statement (PostgreSQL's hot path).
    children = getattr(receipt, "children", None)
    if children is None and receipt.student_ids and receipt.guardian_id:
        # The receipt is the user's own: its children are theirs (the guardianship is the scope rule).
        names = dict(
            Student.objects.system(reason="the children of the user's own receipt").filter(id__in=receipt.student_ids, guardianships__guardian_id=receipt.guardian_id)
            .order_by()
            .values_list("id", "name")
        )
        children = [names[i] for i in receipt.student_ids if i in names]
    children = children or []
    attachments = []
    if notice.has_attachments and not notice.is_withdrawn:
        attachments = [
            {
                "id": a.pk,
                "name": a.original_name,
                "size": a.size,
                "url": reverse("notices:attachment", args=[a.pk]),
            }
            for a in notice.attachments.all()
        ]
    return {
        "notice_id": notice.pk,
        "title": notice.title,
        "sender": notice.sender_label,
        "priority": notice.priority,
        "published_at": notice.published_at or notice.publish_at,
        "body_html": "" if notice.is_withdrawn else notice.body,
        "read_at": receipt.read_at,
        "reply_kind": notice.reply_kind,
        "reply_options": services.allowed_choices(notice),
        "reply": receipt.reply,
        "reply_comment": receipt.reply_comment,
        "replied_at": receipt.replied_at,
        "replied_by_household": receipt.replied_by_household,
        "reply_deadline": notice.reply_deadline,
        "withdrawn": notice.is_withdrawn,
        "withdraw_reason": notice.withdraw_reason if notice.is_withdrawn else "",
        "children": children,
        "attachments": attachments,
    }


@router.get(
    "/{int:notice_id}",
    auth=TokenAuth(in_statement=True),
    response={200: NoticeOut, 404: ErrorOut},
    summary="打开通知（即标记为已读）",
)
def notice_open(request, notice_id: int = Path(..., ge=1, le=MAX_ID)):
    digest = getattr(request, "token_digest", None)
    if digest is None:  # the token has been checked already (TokenAuth's query, on SQLite)
        receipt = services.notice_open(user=request.user, notice_id=notice_id)
    else:  # one statement checks the token, finds the guardian's receipt and marks it read
        user, opened = Receipt.objects.open_guardian_own_by_token(digest, notice_id, timezone.now())
        if signed_in(request, user) is None:
            raise AuthenticationError
        receipt = services.notice_open(user=user, notice_id=notice_id, opened=opened)
    # The busiest call of the API (a district opening an emergency notice): the dict is built to NoticeOut
    # field for field (tests/test_notices_api.py checks it against the schema), so it is encoded as ninja
    # would encode it, without validating our own output a second time.
    return JsonResponse(_notice_out(request, receipt), encoder=NinjaJSONEncoder)


@router.post(
    "/{int:notice_id}/reply",
    response={200: NoticeOut, 404: ErrorOut, 422: ErrorOut},
    summary="回执（确认，或同意/不同意并附意见）",
)
def notice_reply(request, payload: ReplyIn, notice_id: int = Path(..., ge=1, le=MAX_ID)):
    try:
        receipt = services.notice_reply(
            user=request.user, notice_id=notice_id, choice=payload.choice, comment=payload.comment
        )
    except ValidationError as exc:
        return Status(422, {"detail": " ".join(exc.messages)})
    return Status(200, _notice_out(request, receipt))


# --- senders ----------------------------------------------------------------------------------------------


class SentOut(Schema):
    notice_id: int
    title: str
    status: str
    priority: str
    publish_at: dt.datetime
    recipient_count: int
    audience: str


class ClassStatOut(Schema):
    class_id: int
    class_name: str
    school_name: str
    total: int
    read: int
    unread: int
    replied: int


class StatsOut(Schema):
    notice_id: int
    status: str
    total: int
    read: int
    unread: int
    replied: int
    staff_total: int
    staff_read: int
    failed_deliveries: dict[str, int]
    pending_deliveries: bool = Field(description="是否还有推送在排队")
    classes: list[ClassStatOut]


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=10_000)
    page_size: int = Field(20, ge=1, le=100)


@router.get("/sent", response=list[SentOut], summary="我发布或负责跟进的通知")
def sent(request, filters: Query[PageQuery]):
    start = (filters.page - 1) * filters.page_size
    rows = selectors.sent_list(request.user)[start : start + filters.page_size]
    return [
        {
            "notice_id": n.pk,
            "title": n.title,
            "status": n.status,
            "priority": n.priority,
            "publish_at": n.publish_at,
            "recipient_count": n.recipient_count,
            "audience": n.audience_summary,
        }
        for n in rows
    ]


@router.get(
    "/{int:notice_id}/stats", response={200: StatsOut, 404: ErrorOut}, summary="阅读统计（总体与分班）"
)
def notice_stats(request, notice_id: int = Path(..., ge=1, le=MAX_ID)):
    notice = selectors.get_notice_for(request.user, notice_id)
    s = selectors.notice_stats(request.user, notice)
    return Status(200, {
        "notice_id": notice.pk,
        "status": notice.status,
        "total": s.totals.total,
        "read": s.totals.read,
        "unread": s.totals.unread,
        "replied": s.totals.replied,
        "staff_total": s.staff.total,
        "staff_read": s.staff.read,
        "failed_deliveries": s.failed,
        "pending_deliveries": s.pending,
        "classes": [
            {
                "class_id": r.unit.pk,
                "class_name": r.unit.name,
                "school_name": r.unit.school_name,
                "total": r.total,
                "read": r.read,
                "unread": r.unread,
                "replied": r.replied,
            }
            for r in s.classes
        ],
    })


class RemindIn(Schema):
    class_id: int | None = Field(None, ge=1, le=MAX_ID, description="只提醒该班级的未读家长")


class DoneOut(Schema):
    detail: str


@router.post(
    "/{int:notice_id}/remind",
    response={202: DoneOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="一键提醒未读",
)
def notice_remind(request, payload: RemindIn, notice_id: int = Path(..., ge=1, le=MAX_ID)):
    notice = selectors.get_notice_for(request.user, notice_id)
    class_ids = None
    if payload.class_id:
        class_ids = [fetch_for(request.user, SchoolClass, payload.class_id).pk]
    try:
        reminder = services.notice_remind(actor=request.user, notice=notice, class_ids=class_ids)
    except ValidationError as exc:
        return Status(422, {"detail": " ".join(exc.messages)})
    except PermissionDenied as exc:
        return Status(403, {"detail": str(exc)})
    return Status(202, {"detail": f"正在提醒 {reminder.reminded_count} 位未读的收件人。"})


class WithdrawIn(Schema):
    reason: str = Field(..., min_length=1, max_length=200)


@router.post(
    "/{int:notice_id}/withdraw",
    response={200: DoneOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="撤回通知",
)
def notice_withdraw(request, payload: WithdrawIn, notice_id: int = Path(..., ge=1, le=MAX_ID)):
    notice = selectors.get_notice_for(request.user, notice_id)
    try:
        services.notice_withdraw(actor=request.user, notice=notice, reason=payload.reason)
    except ValidationError as exc:
        return Status(422, {"detail": " ".join(exc.messages)})
    except PermissionDenied as exc:
        return Status(403, {"detail": str(exc)})
    return Status(200, {"detail": "通知已撤回。"})


class WeChatBindIn(Schema):
    openid: str = Field(..., min_length=10, max_length=64)


@router.post(
    "/channels/wechat",
    response={200: DoneOut, 404: ErrorOut, 422: ErrorOut},
    summary="绑定微信（小程序登录后调用）",
)
def wechat_bind(request, payload: WeChatBindIn):
    scope = get_scope(request.user)
    if not scope.guardian_id:
        raise Http404
    guardian = fetch_for(request.user, Guardian, scope.guardian_id)
    try:
        services.guardian_wechat_bind(actor=request.user, guardian=guardian, openid=payload.openid)
    except ValidationError as exc:
        return Status(422, {"detail": " ".join(exc.messages)})
    return Status(200, {"detail": "微信已绑定，之后的通知会通过微信提醒您。"})
