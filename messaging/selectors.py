"""Reading a recipient's messages (the in-app channel) and a client's delivery figures."""

from __future__ import annotations

from django.db.models import Count

from messaging.models import Channel, Delivery


def inbox(user, *, limit: int = 50):
    """The user's in-app messages, newest first (as the user, or as any guardian row of theirs)."""
    return (
        Delivery.objects.visible_to(user).filter(channel=Channel.INAPP).select_related("message").order_by("-created_at", "-id")[:limit]
    )


def status_counts(source: str) -> dict[tuple[str, str], int]:
    """(channel, status) → rows of one source, e.g. "notice:12"."""
    rows = Delivery.objects.system(reason="push figures for a caller that checked who may see them").filter(source=source).values("channel", "status").annotate(n=Count("id"))
    return {(r["channel"], r["status"]): r["n"] for r in rows}
