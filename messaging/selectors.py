"""Reading a recipient's messages (the in-app channel) and a client's delivery figures."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.paginator import Page, Paginator
from django.db.models import Count
from django.http import Http404
from django.urls import Resolver404, resolve
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import pgettext_lazy

from core.ids import require_id
from messaging.models import Channel, Delivery, DeliveryStatus

PER_PAGE = 20

# What the list calls a message, by its source label's prefix (ADR 0008: "consultation:5"). The labels of
# the platform's clients are written here, not asked of them: messaging imports no domain app, and a
# prefix it does not know is still a message.
SOURCE_LABELS = {
    "notice": pgettext_lazy("message source", "通知"),
    "consultation": pgettext_lazy("message source", "咨询"),
    "guide": pgettext_lazy("message source", "微指南"),
    "activity": pgettext_lazy("message source", "活动"),
    "course": pgettext_lazy("message source", "课程"),
    "lesson": pgettext_lazy("message source", "课程"),
}
DEFAULT_SOURCE_LABEL = pgettext_lazy("message source", "消息")


def source_label(source: str) -> str:
    return str(SOURCE_LABELS.get(source.split(":", 1)[0], DEFAULT_SOURCE_LABEL))


def _in_app(user):
    """The user's delivered in-app rows (as the account, and as the guardian record linked to it)."""
    return Delivery.objects.own(user).filter(channel=Channel.INAPP, status=DeliveryStatus.DELIVERED)


def own_messages(user):
    """The user's in-app messages, newest first."""
    return _in_app(user).select_related("message").order_by("-created_at", "-id")


def inbox(user, *, limit: int = 50):
    """The user's latest in-app messages."""
    return own_messages(user)[:limit]


def inbox_page(user, page_number, *, per_page: int = PER_PAGE) -> Page:
    """One page of the user's messages; a page number past the end (or not a number) gives the nearest page."""
    return Paginator(own_messages(user), per_page).get_page(page_number)


def unread_count(user) -> int:
    """In-app messages the user has not opened: one query (the red dot on the 我的消息 tile)."""
    return _in_app(user).filter(read_at__isnull=True).count()


def has_messages(user) -> bool:
    return _in_app(user).exists()


def get_delivery_for(user, delivery_id) -> Delivery:
    """One of the user's own in-app messages, or 404 (another person's, a push row, no such id)."""
    try:
        return own_messages(user).get(pk=require_id(delivery_id))
    except Delivery.DoesNotExist as exc:
        raise Http404 from exc


def safe_link(link: str) -> str | None:
    """The message's link when it is a path on this site that the site serves ("/homeschool/guides/5/"),
    else None: a message never sends its reader to another host, nor to a page that is not there."""
    # Django's own check for a same-site URL (no host, no scheme, no "//" or "/\\" tricks); spaces,
    # control characters and backslashes are refused besides, so the path resolves as written.
    if not link or not link.startswith("/") or not url_has_allowed_host_and_scheme(link, allowed_hosts=set()):
        return None
    if any(ord(ch) < 0x21 or ch == "\\" for ch in link):
        return None
    parts = urlsplit(link)
    try:
        resolve(parts.path)
    except Resolver404:
        return None
    return link


def status_counts(source: str) -> dict[tuple[str, str], int]:
    """(channel, status) → rows of one source, e.g. "notice:12"."""
    rows = Delivery.objects.system(reason="push figures for a caller that checked who may see them").filter(source=source).values("channel", "status").annotate(n=Count("id"))
    return {(r["channel"], r["status"]): r["n"] for r in rows}
