"""The recipient's in-app messages for the mobile client: the same rows and rules as the /messages/ page
(the user's own only; another person's message answers 404), token-authenticated like every operation."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Path, Query, Router, Schema, Status

from core.api import MAX_ID
from messaging import selectors, services

router = Router(tags=["站内消息"])


class ErrorOut(Schema):
    detail: str


class MessageOut(Schema):
    id: int = Field(description="消息编号（标记已读时使用）")
    title: str
    body: str = Field(description="纯文本正文")
    link: str = Field(description="站内页面路径，可能为空")
    source: str = Field(description="来源类别：notice、consultation、guide、activity 等")
    source_label: str = Field(description="来源的中文名称，如 咨询、微指南、活动")
    urgency: str
    created_at: dt.datetime
    read: bool
    read_at: dt.datetime | None


class MessagesOut(Schema):
    items: list[MessageOut]
    count: int
    unread: int
    page: int
    page_size: int


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=10_000)
    page_size: int = Field(selectors.PER_PAGE, ge=1, le=100)


class ReadAllOut(Schema):
    marked: int = Field(description="本次标为已读的条数")
    unread: int


def _out(delivery) -> dict:
    message = delivery.message
    return {
        "id": delivery.pk,
        "title": message.title,
        "body": message.body,
        "link": selectors.safe_link(message.link) or "",
        "source": delivery.source.split(":", 1)[0],
        "source_label": selectors.source_label(delivery.source),
        "urgency": delivery.urgency,
        "created_at": delivery.created_at,
        "read": delivery.read_at is not None,
        "read_at": delivery.read_at,
    }


@router.get("", response=MessagesOut, summary="我的站内消息（最新在前）")
def message_list(request, filters: Query[PageQuery]):
    qs = selectors.own_messages(request.user)
    count = qs.count()
    start = (filters.page - 1) * filters.page_size
    # A page past the end is empty, and a huge page number never reaches the database's OFFSET.
    rows = list(qs[start : start + filters.page_size]) if start < count else []
    return {
        "items": [_out(d) for d in rows],
        "count": count,
        "unread": selectors.unread_count(request.user),
        "page": filters.page,
        "page_size": filters.page_size,
    }


@router.post("/read-all", response=ReadAllOut, summary="全部标为已读")
def message_read_all(request):
    marked = services.messages_read_all(user=request.user)
    return {"marked": marked, "unread": selectors.unread_count(request.user)}


@router.post("/{int:delivery_id}/read", response={200: MessageOut, 404: ErrorOut}, summary="标记一条消息为已读")
def message_read(request, delivery_id: int = Path(..., ge=1, le=MAX_ID)):
    return Status(200, _out(services.message_open(user=request.user, delivery_id=delivery_id)))
