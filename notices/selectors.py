"""Reads of the notices module: the inbox, the sender's statistics and report, the export.

Statistics are SQL aggregates (GROUP BY class) and every page costs a fixed number of queries,
whether the notice reached 40 families or 250,000.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field

from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.http import Http404
from django.utils import timezone

from core.crypto import mask_phone
from core.perms import can
from core.scoping import fetch_for, get_scope
from messaging.models import Channel, Delivery, DeliveryStatus
from notices import sql
from notices.models import (
    Notice,
    NoticeClassCount,
    NoticeStatus,
    Priority,
    Receipt,
    ReceiptClass,
    ReplyKind,
)
from notices.sending import source_of
from notices.services import followed_class_ids, manages
from org.models import Kind, OrgUnit
from people.contact import log_export
from people.contact import show as show_phones
from people.models import Guardianship, Student
from people.perms import VIEW as PEOPLE_VIEW
from people.perms import VIEW_CONTACT as PEOPLE_VIEW_CONTACT

INBOX_PAGE = 20


# --- inbox ------------------------------------------------------------------------------------------


@dataclass
class InboxItem:
    receipt: Receipt
    notice: Notice
    children: list[str]

    @property
    def unread(self) -> bool:
        return self.receipt.read_at is None and not self.notice.is_withdrawn

    @property
    def awaiting_reply(self) -> bool:
        return self.notice.reply_kind != ReplyKind.NONE and self.receipt.replied_at is None and not self.notice.is_withdrawn


def own_children(user) -> list[Student]:
    """The user's own children (as guardian), for names and the child filter."""
    scope = get_scope(user)
    if not scope.guardian_id:
        return []
    return list(
        Student.objects.visible_to(user).filter(guardianships__guardian_id=scope.guardian_id).only("id", "name").order_by("id")
    )


INBOX_FIELDS = (
    "notice_id", "students", "created_at", "read_at", "replied_at", "reminder_count",
    "notice__title", "notice__sender_label", "notice__priority", "notice__published_at", "notice__publish_at",
    "notice__reply_kind", "notice__status",
)


def inbox(user, *, child_id: int | None = None, page: int = 1, per_page: int = INBOX_PAGE, unread_only: bool = False) -> dict:
    """Unread first, newest first; one page of items, the unread count and the children: 3 queries."""
    scope = get_scope(user)
    children = own_children(user)
    names = {c.id: c.name for c in children}
    base = Receipt.objects.own(scope)
    qs = base
    if child_id is not None and child_id in names:
        qs = qs.filter(students__contains=f"/{child_id}/")
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    page = max(1, page)
    rows = list(
        qs.select_related("notice")
        # What the inbox page and the API show of each item (a third of the columns): fewer values to read.
        .only(*INBOX_FIELDS)
        # Unread first (unread emergencies before everything); a withdrawn notice needs no attention.
        .annotate(
            attention=Case(
                When(Q(read_at__isnull=True) & ~Q(notice__status=NoticeStatus.WITHDRAWN) & Q(notice__priority=Priority.EMERGENCY), then=Value(2)),
                When(Q(read_at__isnull=True) & ~Q(notice__status=NoticeStatus.WITHDRAWN), then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
        .order_by("-attention", "-created_at", "-id")[(page - 1) * per_page : page * per_page + 1]
    )
    has_more = len(rows) > per_page
    items = [InboxItem(r, r.notice, [names[i] for i in r.student_ids if i in names]) for r in rows[:per_page]]
    unread = _unread(base)
    return {"items": items, "children": children, "unread": unread, "has_more": has_more, "page": page, "child_id": child_id if child_id in names else None}


def _unread(own) -> int:
    return own.filter(read_at__isnull=True).exclude(notice__status=NoticeStatus.WITHDRAWN).count()


# --- sender statistics ------------------------------------------------------------------------------
#
# One definition of every figure, used by the page, the list, the API, the export and the reminders: a
# recipient is one receipt; it is read when read_at is set, and a reply sets read_at too (a household's
# reply sets it on the whole family's receipts when one reply per household is asked). Hence
# read >= replied and unread = total - read, per class and in total.


@dataclass
class ClassRow:
    unit: ClassInfo | SchoolInfo | None
    total: int = 0
    read: int = 0
    replied: int = 0

    @property
    def unread(self) -> int:
        return self.total - self.read

    @property
    def read_pct(self) -> int:
        return round(100 * self.read / self.total) if self.total else 0

    @property
    def replied_pct(self) -> int:
        return round(100 * self.replied / self.total) if self.total else 0


@dataclass
class SchoolRow(ClassRow):
    classes: list[ClassRow] = field(default_factory=list)


@dataclass
class Stats:
    notice: Notice
    manager: bool
    totals: ClassRow
    staff: ClassRow
    classes: list[ClassRow]
    schools: list[SchoolRow]
    failed: dict[str, int]
    pending: bool

    @property
    def remindable(self) -> int:
        """Who 一键提醒 reaches at most: the unread families and staff recipients shown."""
        return self.totals.unread + self.staff.unread


@dataclass(slots=True)
class ClassInfo:
    """What a figures page needs of a class: read with values_list, because a district has thousands."""

    pk: int
    name: str
    path: str
    class_no: int | None
    grade_year: int | None
    school_id: int | None
    school_name: str

    @property
    def id(self) -> int:
        return self.pk

    @property
    def full_name(self) -> str:
        return f"{self.school_name} {self.name}".strip()


@dataclass(slots=True)
class SchoolInfo:
    pk: int
    name: str


def _class_units(ids, district_id: int | None = None) -> dict[int, ClassInfo]:
    ids = set(ids)
    qs = OrgUnit.objects.system(reason="the classes named on a notice's receipts").filter(kind=Kind.CLASS)
    # A district-wide notice names thousands of classes: ask for the district's classes rather than
    # sending thousands of ids, and keep the ones asked for.
    qs = qs.filter(district_id=district_id) if district_id and len(ids) > 300 else qs.filter(id__in=list(ids))
    rows = qs.values_list(
        "id", "name", "path", "class_no", "parent__grade_year", "parent__parent_id", "parent__parent__name"
    )
    return {r[0]: ClassInfo(r[0], r[1], r[2], r[3], r[4], r[5], r[6] or "") for r in rows if r[0] in ids}


def _sort_key(row: ClassRow):
    u = row.unit
    return (u.school_name, u.grade_year if u.grade_year is not None else 99, u.class_no if u.class_no is not None else 999, u.name)


def _counted_classes(notice: Notice, class_filter) -> tuple[list[ClassRow], int, int] | None:
    """The per-class rows of a notice whose class sizes the fan-out counted, with the reads and replies
    of the receipts themselves (a family in two classes counts once there); None while not counted."""
    if not NoticeClassCount.objects.filter(notice=notice).exists():
        return None
    params: dict = {"notice": notice.pk, "needs_reply": bool(notice.needs_reply)}
    only = ""
    if class_filter is not None:
        ids = sorted(int(c) for c in class_filter)
        if not ids:
            return [], 0, 0
        only = "AND cc.school_class_id IN (" + ", ".join(f"%(c{i})s" for i in range(len(ids))) + ")"
        params.update({f"c{i}": cid for i, cid in enumerate(ids)})
    with connection.cursor() as cur:
        cur.execute(sql.COUNTED_CLASSES.format(only=only), params)
        rows = cur.fetchall()
    classes = [ClassRow(ClassInfo(r[0], r[1], r[2], r[3], r[4], r[5], r[6] or ""), r[7], r[8] + r[9], r[10] + r[11]) for r in rows]
    classes.sort(key=_sort_key)  # in Python: the same order on both databases, whatever their collation
    return classes, sum(r[8] for r in rows), sum(r[10] for r in rows)


def notice_stats(user, notice: Notice) -> Stats:
    """Read / unread / replied overall and per class; a family with children in two classes counts in both."""
    class_filter = followed_class_ids(user, notice)
    manager = class_filter is None
    # The caller follows this notice (get_notice_for checked it): its receipts are counted, not listed.
    receipts = Receipt.objects.system(reason="figures of a notice the caller follows").filter(notice=notice)
    totals = ClassRow(None)
    staff = ClassRow(None)
    counted = _counted_classes(notice, class_filter)
    if counted is not None:
        classes, totals.read, totals.replied = counted
        if manager:
            if notice.audience.get("staff_roles"):
                staff_receipts = receipts.filter(user__isnull=False).aggregate(
                    total=Count("id"), read=Count("read_at"), replied=Count("replied_at")
                )
                staff = ClassRow(None, staff_receipts["total"], staff_receipts["read"], staff_receipts["replied"])
            totals.total = notice.recipient_count - staff.total
    else:
        # Still fanning out (or an old notice): count everything live.
        extra = ReceiptClass.objects.filter(notice=notice)
        if not manager:
            receipts = receipts.filter(school_class_id__in=class_filter)
            extra = extra.filter(school_class_id__in=class_filter)
        per_class: dict[int | None, ClassRow] = {}
        for cid, total, read, replied in receipts.order_by().values_list("school_class_id").annotate(
            total=Count("id"), read=Count("read_at"), replied=Count("replied_at")
        ):
            row = staff if cid is None else per_class.setdefault(cid, ClassRow(None))
            row.total += total
            row.read += read
            row.replied += replied
            if cid is not None:
                totals.total += total
                totals.read += read
                totals.replied += replied
        for cid, total, read, replied in extra.order_by().values_list("school_class_id").annotate(
            total=Count("id"), read=Count("read_at"), replied=Count("replied_at")
        ):
            row = per_class.setdefault(cid, ClassRow(None))
            row.total += total
            row.read += read
            row.replied += replied
        units = _class_units(per_class, notice.district_id)
        classes = []
        for cid, row in per_class.items():
            row.unit = units.get(cid)
            if row.unit is not None:
                classes.append(row)
        classes.sort(key=_sort_key)
    schools: dict[int, SchoolRow] = {}
    for row in classes:
        key = row.unit.school_id or 0
        srow = schools.get(key)
        if srow is None:
            srow = schools[key] = SchoolRow(SchoolInfo(key, row.unit.school_name))
        srow.classes.append(row)
        srow.total += row.total
        srow.read += row.read
        srow.replied += row.replied
    deliveries = Delivery.objects.system(reason="push figures of a notice the caller follows").filter(source=source_of(notice.pk))
    if not manager:
        deliveries = deliveries.filter(
            Q(ref__in=Receipt.objects.filter(notice=notice, school_class_id__in=class_filter).values("id"))
            | Q(ref__in=ReceiptClass.objects.filter(notice=notice, school_class_id__in=class_filter).values("receipt_id"))
        )
    # Failures are few and counted; pushes still waiting (quiet hours, a district's SMS queue) only need
    # to be known to exist — counting a quarter-million pending rows would cost more than the figures.
    failed = dict(deliveries.filter(status=DeliveryStatus.FAILED).values("channel").annotate(n=Count("id")).values_list("channel", "n"))
    pending = deliveries.filter(status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING]).exists()
    if not manager:  # a teacher's own classes: the figures of those rows
        totals = ClassRow(None, sum(r.total for r in classes), sum(r.read for r in classes), sum(r.replied for r in classes))
    return Stats(notice, manager, totals, staff, classes, sorted(schools.values(), key=lambda s: s.unit.name if s.unit else ""), failed, pending)


# --- per-class report --------------------------------------------------------------------------------


@dataclass
class GuardianLine:
    receipt: Receipt
    name: str
    relation: str
    phone: str
    channels: dict[str, Delivery]

    @property
    def failed(self) -> bool:
        return any(d.status == DeliveryStatus.FAILED for d in self.channels.values())


@dataclass
class FamilyLine:
    children: list[str]
    guardians: list[GuardianLine]
    read_elsewhere: int = 0  # guardians of the family who read it, left off an unread-only list

    @property
    def read(self) -> bool:
        return any(g.receipt.read_at for g in self.guardians)

    @property
    def unread(self) -> bool:
        """A guardian still to read it: the figures count each guardian, and a household's reply marks
        the whole family read, so a family that answered is never listed as unread."""
        return any(g.receipt.read_at is None for g in self.guardians)

    @property
    def replied(self) -> bool:
        return any(g.receipt.replied_at for g in self.guardians)

    @property
    def failed(self) -> bool:
        return any(g.failed for g in self.guardians)


def class_receipts(notice: Notice, class_id: int):
    return Receipt.objects.system(reason="a class of a notice the caller follows").filter(notice=notice).filter(
        Q(school_class_id=class_id) | Q(id__in=ReceiptClass.objects.filter(notice=notice, school_class_id=class_id).values("receipt_id"))
    )


def may_list_families(user, school_class: OrgUnit | None = None) -> bool:
    """Family names and phones (the class report, the export) need people.view: a street workstation
    that sent a notice to its schools follows the figures, not who the families are."""
    return can(user, PEOPLE_VIEW, school_class)


REPORT_PAGE = 20  # families per page of the class report: a phone's screenful or three


def class_report(user, notice: Notice, school_class: OrgUnit, *, unread_only: bool = False, page=1) -> dict:
    """Each family of the class and each of its guardians: read, replied, push status per channel; one
    page of families (unread_only: the families with an unread guardian, listed with all their guardians).

    Full phone numbers for the class teacher, one access row per view (people.contact); masked for others."""
    qs = class_receipts(notice, school_class.pk).filter(guardian__isnull=False).select_related("guardian").defer("guardian__id_number")
    receipts = list(qs.order_by("household_id", "guardian_id"))
    full_contact = show_phones(user, school_class, where="通知回执", any_phone=any(r.guardian.phone for r in receipts)).full
    student_ids = {i for r in receipts for i in r.student_ids}
    students = {s.id: s for s in Student.objects.system(reason="the children named on the class report's receipts").filter(id__in=student_ids).only("id", "name", "school_class_id")}
    relations = {
        (g.guardian_id, g.student_id): g.get_relation_display()
        for g in Guardianship.objects.system(reason="the relations on the class report's receipts").filter(guardian_id__in=[r.guardian_id for r in receipts], student_id__in=student_ids)
    }
    by_receipt: dict[int, dict[str, Delivery]] = defaultdict(dict)
    for d in Delivery.objects.system(reason="pushes of the class report's receipts").filter(source=source_of(notice.pk), ref__in=[r.pk for r in receipts]).order_by("created_at"):
        by_receipt[d.ref][d.channel] = d  # the latest push per channel
    families: dict[object, FamilyLine] = {}
    for r in receipts:
        in_class = [i for i in r.student_ids if i in students and students[i].school_class_id == school_class.pk]
        key = ("h", r.household_id) if r.household_id else ("s", tuple(in_class) or r.guardian_id)
        fam = families.setdefault(key, FamilyLine(children=[students[i].name for i in in_class], guardians=[]))
        relation = next((relations[(r.guardian_id, i)] for i in in_class if (r.guardian_id, i) in relations), "")
        phone = r.guardian.phone if full_contact else mask_phone(r.guardian.phone)
        fam.guardians.append(GuardianLine(r, r.guardian.name, relation, phone, by_receipt.get(r.pk, {})))
        for name in (students[i].name for i in in_class):
            if name not in fam.children:
                fam.children.append(name)
    lines = sorted(families.values(), key=lambda f: (not f.unread, f.replied, not f.failed, f.children))
    # 只看未读: whom to call, so only the guardians who have not read it, the others counted on the card.
    unread_lines = [
        FamilyLine(f.children, [g for g in f.guardians if g.receipt.read_at is None], read_elsewhere=sum(1 for g in f.guardians if g.receipt.read_at))
        for f in lines
        if f.unread
    ]
    pages = Paginator(unread_lines if unread_only else lines, REPORT_PAGE)
    return {
        "families": pages.get_page(page).object_list,
        "page": pages.get_page(page),
        "all_families": len(lines),
        "unread_families": len(unread_lines),
        "full_contact": full_contact,
        "channels": [Channel.SMS, Channel.WECHAT, Channel.EMAIL],
    }


# --- export ---------------------------------------------------------------------------------------------

EXPORT_HEADERS = ["学校", "班级", "孩子", "家长", "手机号", "已读", "阅读时间", "回执", "意见", "短信", "微信", "邮件", "提醒次数"]


def export_rows(user, notice: Notice, chunk: int = 2000):
    """Rows of the sender's report, streamed in chunks (fixed queries per chunk, constant memory).

    A family with children in several classes is listed under the first class the viewer follows;
    its phone number is unmasked if the viewer may see the contacts of any of those classes (one access
    row per export). The first chunk is read at once, in the request, so that the row gets its address."""
    rows = _export_rows(user, notice, chunk)
    first = next(rows, None)
    return iter(()) if first is None else itertools.chain([first], rows)


def _export_rows(user, notice: Notice, chunk: int):
    class_filter = followed_class_ids(user, notice)
    followed = None if class_filter is None else set(class_filter)
    qs = Receipt.objects.system(reason="the receipts of a notice the caller follows").filter(notice=notice, guardian__isnull=False)
    if class_filter is not None:
        qs = qs.filter(
            Q(school_class_id__in=class_filter)
            | Q(id__in=ReceiptClass.objects.filter(notice=notice, school_class_id__in=class_filter).values("receipt_id"))
        )
    class_ids = set(qs.values_list("school_class_id", flat=True).distinct())
    class_ids |= set(ReceiptClass.objects.filter(notice=notice).values_list("school_class_id", flat=True).distinct())
    units = _class_units(class_ids, notice.district_id)
    contact = {cid: can(user, PEOPLE_VIEW_CONTACT, u) for cid, u in units.items()}
    if any(contact.values()):
        log_export(user, notice, where="通知阅读情况")
    status_label = dict(DeliveryStatus.choices)
    last_id = 0
    while True:
        batch = list(qs.filter(id__gt=last_id).select_related("guardian").defer("guardian__id_number").order_by("id")[:chunk])
        if not batch:
            return
        last_id = batch[-1].pk
        names = dict(Student.objects.system(reason="the children named on the exported receipts").filter(id__in={i for r in batch for i in r.student_ids}).values_list("id", "name"))
        extra: dict[int, list[int]] = defaultdict(list)
        for rid, cid in ReceiptClass.objects.filter(receipt_id__in=[r.pk for r in batch]).values_list("receipt_id", "school_class_id"):
            extra[rid].append(cid)
        pushes: dict[int, dict[str, str]] = defaultdict(dict)
        for rid, channel, status in Delivery.objects.system(reason="pushes of the exported receipts").filter(
            source=source_of(notice.pk), ref__in=[r.pk for r in batch]
        ).order_by("created_at").values_list("ref", "channel", "status"):
            pushes[rid][channel] = str(status_label.get(status, status))
        for r in batch:
            classes = [r.school_class_id, *extra.get(r.pk, [])]
            shown = next((c for c in classes if followed is None or c in followed), r.school_class_id)
            unit = units.get(shown)
            school = unit.school_name if unit else ""
            phone = r.guardian.phone if any(contact.get(c) for c in classes) else mask_phone(r.guardian.phone)
            yield [
                school,
                unit.name if unit else "",
                "、".join(names.get(i, "") for i in r.student_ids),
                r.guardian.name,
                phone,
                "是" if r.read_at else "否",
                timezone.localtime(r.read_at).strftime("%Y-%m-%d %H:%M") if r.read_at else "",
                r.get_reply_display() if r.reply else "",
                r.reply_comment,
                pushes[r.pk].get("sms", ""),
                pushes[r.pk].get("wechat", ""),
                pushes[r.pk].get("email", ""),
                r.reminder_count,
            ]


@dataclass
class Figures:
    """A notice's headline figures on the list: its families, or its staff when it went to staff only."""

    total: int
    read: int
    replied: int

    @property
    def unread(self) -> int:
        return self.total - self.read


def list_figures(notice_ids) -> dict[int, Figures]:
    """The headline figures of several notices in one query, as the figures page counts them
    (families apart from staff recipients)."""
    family = Q(guardian__isnull=False)
    rows = (
        Receipt.objects.system(reason="figures of notices the caller lists").filter(notice_id__in=list(notice_ids))
        .values("notice_id")
        .annotate(
            total=Count("id", filter=family),
            read=Count("read_at", filter=family),
            replied=Count("replied_at", filter=family),
            all_total=Count("id"),
            all_read=Count("read_at"),
            all_replied=Count("replied_at"),
        )
        .order_by()
    )
    return {
        r["notice_id"]: Figures(r["total"], r["read"], r["replied"])
        if r["total"]
        else Figures(r["all_total"], r["all_read"], r["all_replied"])
        for r in rows
    }


def sent_list(user):
    return (
        Notice.objects.followed_by(user)
        .select_related("sender_unit")
        .defer("body", "audience")
        .order_by("-publish_at", "-id")
    )


def can_view_notice_as_staff(user, notice: Notice) -> bool:
    return manages(user, notice) or bool(followed_class_ids(user, notice))


def unread_counts(user) -> dict[str, int]:
    """For the red dots: my unread notices and those still waiting for my reply (回执), in one query.
    Withdrawn notices need nothing from anyone, as in the inbox."""
    live = ~Q(notice__status=NoticeStatus.WITHDRAWN)
    return Receipt.objects.own(get_scope(user)).aggregate(
        unread=Count("id", filter=Q(read_at__isnull=True) & live),
        awaiting_reply=Count("id", filter=Q(replied_at__isnull=True) & ~Q(notice__reply_kind=ReplyKind.NONE) & live),
    )


def get_notice_for(user, notice_id, *, for_write: bool = False) -> Notice:
    """The staff pages' and the API's one way to a notice the user follows as staff (its sender, those
    above the sender, the teachers of an addressed class), else 404; with for_write, only one the user
    manages (remind, withdraw). Recipients open theirs through services.notice_open (their receipt)."""
    notice = fetch_for(user, Notice.objects.select_related("sender_unit"), notice_id)
    if not (manages(user, notice) if for_write else can_view_notice_as_staff(user, notice)):
        raise Http404
    return notice
