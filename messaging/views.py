"""The recipient's messages: the in-app channel of every module that notifies people (consultation replies,
micro-guides, waitlist promotions…), newest first. Only the user's own rows are ever read (Delivery.own):
another person's message answers 404."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.scoping import get_scope
from messaging import selectors, services

# An icon per source, so that a grandparent tells a reply from an activity at a glance.
_ICONS = {"notice": "bi-bell", "consultation": "bi-chat-heart", "guide": "bi-journal-bookmark", "activity": "bi-calendar-event",
          "course": "bi-book", "lesson": "bi-book"}


def _when(moment) -> str:
    """今天 14:05, 昨天 09:10, 3月2日 14:05, a past year's with its year: local time, in the user's language."""
    local, today = timezone.localtime(moment), timezone.localdate()
    if local.date() == today:
        day = _("今天")
    elif local.date() == today - dt.timedelta(days=1):
        day = _("昨天")
    elif local.year == today.year:
        day = date_format(local, "MONTH_DAY_FORMAT")
    else:
        day = date_format(local, "DATE_FORMAT")
    return f"{day} {time_format(local, 'H:i')}"


def _row(delivery) -> dict:
    prefix = delivery.source.split(":", 1)[0]
    return {"delivery": delivery, "message": delivery.message, "unread": delivery.read_at is None,
            "source": selectors.source_label(delivery.source), "icon": _ICONS.get(prefix, "bi-envelope"), "when": _when(delivery.created_at)}


@login_required
def inbox(request):
    page = selectors.inbox_page(request.user, request.GET.get("page"))
    context = {"page": page, "items": [_row(d) for d in page.object_list]}
    # "加载更多" fetches the next page's rows only (HTMX); without JavaScript the link opens that page.
    if request.htmx and request.GET.get("page"):
        return render(request, "messaging/_items.html", context)
    # A family's empty list points to where its messages come from (asking, guides); staff get only the notices.
    family = bool(get_scope(request.user).guardian_id)
    return render(request, "messaging/inbox.html", {**context, "unread": selectors.unread_count(request.user), "family": family})


@login_required
def open_message(request, pk):
    """Opening is reading: mark it read, then go where the message points (a page of this site), or show it."""
    delivery = services.message_open(user=request.user, delivery_id=pk)
    link = selectors.safe_link(delivery.message.link)
    if link:
        return redirect(link)
    return render(request, "messaging/message.html", _row(delivery))


@login_required
@require_POST
def read_all(request):
    n = services.messages_read_all(user=request.user)
    if n:
        messages.success(request, _("已全部标为已读。"))
    return redirect("messaging:inbox")
