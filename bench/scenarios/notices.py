"""notice-fanout, notice-stats, inbox and read-burst (issue 4).

Data: a district of its own (code BENCHN): primary schools of 2,500 students in six grades of classes of
about 38; families of one child (nine in ten) or two children in different classes; two guardians per
family, sometimes a grandparent too, sometimes one (≈1.9 guardians per student, like the district in
the issue: ~125,000 students and ~250,000 guardians); 20,000 guardians with accounts and API tokens.
Built with bulk inserts; cleaned afterwards (unless --keep).

notice-fanout: a district-wide notice from the district admin, published through the service and fanned
out by the job as the worker runs it (guardian-id ranges, ON CONFLICT DO NOTHING, a ReceiptClass row for
each second class). Value: seconds until every receipt is written. Floor: one server-side INSERT … SELECT
of the same receipt rows (same table, indexes and constraints), timed in the same run.

notice-stats: per-class read statistics of that notice with 40 % read, as the sender's page computes them
(selectors.notice_stats, as the district admin). Value: p99 of 100 runs. Floor: the one GROUP BY query.

inbox: a guardian with 500 notices opens /notices/inbox/ (Django test client in-process: the whole
middleware stack, session, scope, template). Value: p99 of 200 requests; queries counted. Floor: a bare
view behind the same stack and the same logged-in session.

read-burst: gunicorn on this database, set up as docs/deploy.md says (2 × cores gthread workers of 4
threads); wrk on loopback; 20,000 distinct guardians (one API token each) open the notice
(GET /api/v1/notices/<id>, which marks the receipt read). Value: p99 latency. Floor: the p99 of a bare
Django view under the same gunicorn and the same wrk client script (each request with a guardian's bearer
header, each response passed to the script); its requests/s is the 35 % yardstick. The burst runs in four
parts with the bare view measured for 5 s before each and after the last, so that both see the machine's
drift alike. Reported beside it: the bare view under wrk's static request (which costs the client less), under
the API's prefix (behind the API's shorter middleware, docs/decisions/0005) and behind the API's token check.
"""

from __future__ import annotations

import hashlib
import math
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.http import JsonResponse
from django.urls import include, path

from bench import Context, Result, load, scenario

CODE = "BENCHN"
SCHOOL_SIZE = 2500
CLASS_SIZE = 38
GRADES = ("一年级", "二年级", "三年级", "四年级", "五年级", "六年级")
GRADE_SHORT = "一二三四五六"
ACCOUNTS = 20_000
PARTS = 4  # read-burst: the burst's parts, each with the bare view measured before it
ADMIN_PHONE = "19900000021"
BATCH = 5000
SEED = 20260402
NOTICE_TITLE = "关于暴雨天气停课的紧急通知"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞斌辉宇浩然子涵欣怡梓轩雨萱一诺思远佳琪俊杰嘉怡晨曦"


# --- a bare view for the floors (served only by this module's URLconf, never by the product) -------------
def bare(request):
    return JsonResponse({"ok": True})


def bare_authenticated(request):
    """The same, behind the API's bearer-token check: what any API call costs before doing anything."""
    from accounts.api import TokenAuth

    user = TokenAuth()(request)
    return JsonResponse({"ok": user is not None}, status=200 if user else 401)


urlpatterns = [
    path("bench/bare/", bare),
    path("bench/bare-auth/", bare_authenticated),
    # The same bare view under the API's prefix, behind the API's shorter middleware (core.middleware.PageOnly).
    path("api/bench/bare/", bare),
    path("", include("gongyu.urls")),
]

# gunicorn serves the product's own WSGI application; this config hook (written to a temporary file at run
# time) swaps in the URLconf above once Django is set up, so the bare view sits behind the same stack.
GUNICORN_CONF = """
import runpy

# The product's own settings and hooks (gunicorn takes the names it knows); post_worker_init wrapped below.
_product = runpy.run_path("__ROOT__/gunicorn.conf.py")
globals().update({k: v for k, v in _product.items() if not k.startswith("_")})


def post_worker_init(worker):
    from django.conf import settings
    settings.ROOT_URLCONF = "bench.scenarios.notices"
    _product["post_worker_init"](worker)
"""


def _settle_like_a_worker() -> None:
    """In-process scenarios time requests in this runner, whose heap also holds the benchmark's own data:
    settle it as gunicorn.conf.py settles a worker after start-up, so that collections walk only what the
    timed code allocates, as they do in production."""
    import gc

    gc.collect()
    gc.freeze()


# --- data ------------------------------------------------------------------------------------------------
def _district(students: int):
    from accounts.models import RoleAssignment, User
    from accounts.roles import Role
    from org.models import Kind, OrgUnit
    from org.services import unit_create

    district = OrgUnit.objects.filter(kind=Kind.DISTRICT, code=CODE).first()
    if district is None:
        district = unit_create(actor=None, kind=Kind.DISTRICT, name="通知基准区", parent=None, code=CODE)
    n_schools = max(1, math.ceil(students / SCHOOL_SIZE))
    per_grade = max(1, math.ceil(min(students, SCHOOL_SIZE) / len(GRADES) / CLASS_SIZE))
    existing = {(u.parent_id, u.name): u for u in OrgUnit.objects.filter(district=district)}
    classes = []
    for s in range(1, n_schools + 1):
        name = f"通知基准第{s}小学"
        school = existing.get((district.pk, name)) or unit_create(actor=None, kind=Kind.SCHOOL, name=name, parent=district, code=f"N{s:04d}", stage="primary")
        for g, grade_name in enumerate(GRADES, start=1):
            grade = existing.get((school.pk, grade_name)) or unit_create(actor=None, kind=Kind.GRADE, name=grade_name, parent=school, grade_year=g)
            for c in range(1, per_grade + 1):
                class_name = f"{GRADE_SHORT[g - 1]}({c})班"
                unit = existing.get((grade.pk, class_name)) or unit_create(actor=None, kind=Kind.CLASS, name=class_name, parent=grade, class_no=c)
                classes.append((school.pk, unit.pk))
    admin = User.objects.filter(phone=ADMIN_PHONE).first()
    if admin is None:
        admin = User.objects.create_user(ADMIN_PHONE, None, name="通知基准区管理员")
    if not RoleAssignment.objects.filter(user=admin, role=Role.DISTRICT_ADMIN, unit=district).exists():
        RoleAssignment.objects.create(user=admin, role=Role.DISTRICT_ADMIN, unit=district, district=district)
    return district, admin, classes


def _clean(district) -> None:
    """Remove the bench district's people, accounts and notices straight in SQL (benchmark rows)."""
    from django.db import transaction

    from accounts.models import ApiToken, User
    from homeschool.models import Consultation
    from jobs.models import Job
    from messaging.models import Delivery, Message
    from notices.models import (
        Notice,
        NoticeClassCount,
        NoticeJob,
        NoticeTarget,
        Receipt,
        ReceiptClass,
        Reminder,
        Reply,
    )
    from people.models import Guardian, Guardianship, Household, Student

    bench_users = User.objects.filter(phone__startswith="19901")
    with transaction.atomic():
        notices = Notice.objects.filter(district=district)
        for qs in (
            Delivery.objects.filter(guardian__district=district),
            Message.objects.filter(source__in=[f"notice:{pk}" for pk in notices.values_list("pk", flat=True)]),
            Reply.objects.filter(receipt__notice__in=notices),
            ReceiptClass.objects.filter(notice__in=notices),
            NoticeClassCount.objects.filter(notice__in=notices),
            Receipt.objects.filter(notice__in=notices),
            Reminder.objects.filter(notice__in=notices),
            NoticeJob.objects.filter(notice__in=notices),
            Job.objects.filter(district_id=district.pk),
            NoticeTarget.objects.filter(notice__in=notices),
            notices,
            Consultation.objects.filter(district=district),
            Guardianship.objects.filter(student__district=district),
            Guardian.objects.filter(district=district),
            Household.objects.filter(district=district),
            Student.objects.filter(district=district),
            ApiToken.objects.filter(user__in=bench_users),
        ):
            qs._raw_delete(qs.db)
        bench_users._raw_delete(bench_users.db)


def _account_key(n: int, seed: int) -> str:
    return f"gy_bench_{n}_{hashlib.sha256(str(seed + n).encode()).hexdigest()[:24]}"


def _reused_people(ctx: Context, district, seed: int = SEED) -> dict | None:
    """What _build_people returned, recovered from a kept district of the same scale (None if there is none)."""
    from accounts.models import User
    from people.models import Guardian, Student

    if Student.objects.filter(district=district).count() != ctx.students:
        return None
    users = list(User.objects.filter(phone__startswith="19901").order_by("phone").values_list("pk", "phone"))
    chosen = dict(Guardian.objects.filter(district=district, user__isnull=False).values_list("user_id", "pk"))
    if not users or len(chosen) != len(users):
        return None
    ctx.log(f"reusing the kept district: {ctx.students} students, {len(users)} accounts")
    return {
        "guardians": Guardian.objects.filter(district=district).count(),
        "accounts": [(pk, _account_key(int(phone[5:]), seed)) for pk, phone in users],
        "chosen": [chosen[pk] for pk, _phone in users],
    }


def _build_people(ctx: Context, district, classes, students: int, seed: int = SEED) -> dict:
    """Students, households, guardians and guardianships with bulk inserts; 20,000 guardians get accounts."""
    from django.db import transaction

    from accounts.models import ApiToken, User
    from core.crypto import digest
    from people.models import Guardian, Guardianship, Household, Student

    rng = random.Random(seed)
    per_class = math.ceil(students / len(classes))
    started = time.perf_counter()
    with transaction.atomic():
        objs = []
        for i in range(students):
            school_id, class_id = classes[min(i // per_class, len(classes) - 1)]
            name = SURNAMES[rng.randrange(len(SURNAMES))] + GIVEN[rng.randrange(len(GIVEN))] + GIVEN[rng.randrange(len(GIVEN))]
            objs.append(Student(district_id=district.pk, school_id=school_id, school_class_id=class_id, name=name, student_no=f"NB{i:09d}"))
        student_ids = [s.pk for s in Student.objects.bulk_create(objs, batch_size=BATCH)]
        # Families: one child, or (one in ten) two children in classes far apart.
        families: list[list[int]] = []
        sibling_of: dict[int, int] = {}
        for i in range(students):
            if i % 10 == 9 and i >= 400:
                sibling_of[i] = i - 397
            else:
                sibling_of[i] = -1
        family_index: dict[int, int] = {}
        for i in range(students):
            if sibling_of[i] >= 0 and sibling_of[i] in family_index:
                f = family_index[sibling_of[i]]
                families[f].append(student_ids[i])
            else:
                f = len(families)
                families.append([student_ids[i]])
            family_index[i] = f
        households = Household.objects.bulk_create([Household(district_id=district.pk) for _f in families], batch_size=BATCH)
        guardians = []
        links = []
        phone = 15000000000
        for f, children in enumerate(families):
            roll = rng.random()
            n = 1 if roll < 0.1 else (3 if roll > 0.8 else 2)
            for _k in range(n):
                phone += 1
                p = str(phone)
                guardians.append(Guardian(district_id=district.pk, household_id=households[f].pk, name=SURNAMES[rng.randrange(len(SURNAMES))] + "家长",
                                          phone=p, phone_digest=digest(p)))
                links.append((len(guardians) - 1, children))
        made = Guardian.objects.bulk_create(guardians, batch_size=BATCH)
        relations = ("mother", "father", "maternal_grandmother")
        Guardianship.objects.bulk_create(
            [Guardianship(guardian_id=made[g].pk, student_id=sid, relation=relations[k % 3]) for k, (g, children) in enumerate(links) for sid in children],
            batch_size=BATCH,
        )
        # Accounts for 20,000 guardians spread over every class, each with an API token.
        step = max(1, len(made) // ACCOUNTS)
        chosen = made[::step][:ACCOUNTS]
        users = User.objects.bulk_create(
            [User(phone=f"19901{n:06d}", name="基准家长", password="!bench") for n in range(len(chosen))], batch_size=BATCH  # noqa: S106
        )
        for g, u in zip(chosen, users, strict=True):
            g.user_id = u.pk
        Guardian.objects.bulk_update(chosen, ["user"], batch_size=BATCH)
        import datetime as dt

        from django.utils import timezone

        keys = [_account_key(n, seed) for n in range(len(users))]
        expires = timezone.now() + dt.timedelta(days=1)
        ApiToken.objects.bulk_create(
            [ApiToken(user_id=u.pk, digest=ApiToken.hash_key(k), prefix=k[:8], expires_at=expires) for u, k in zip(users, keys, strict=True)],
            batch_size=BATCH,
        )
    elapsed = time.perf_counter() - started
    links_n = sum(len(children) for _g, children in links)
    ctx.log(f"built {students} students, {len(made)} guardians in {len(families)} families, {links_n} guardianships, {len(users)} accounts in {elapsed:.1f} s")
    return {"guardians": len(made), "accounts": [(u.pk, k) for u, k in zip(users, keys, strict=True)], "chosen": [g.pk for g in chosen]}


def _prepare(ctx: Context) -> dict:
    """Build the district once per run; scenarios of the same run share it."""
    state = ctx.state.get("notices")
    if state:
        return state
    district, admin, classes = _district(ctx.students)
    people = _reused_people(ctx, district) if ctx.reuse else None
    if people is None:
        _clean(district)
        people = _build_people(ctx, district, classes, ctx.students)
    _analyze()
    state = {"district": district, "admin": admin, "classes": classes, **people}
    ctx.state["notices"] = state
    if not ctx.keep:
        ctx.state.setdefault("cleanups", []).append(lambda: _clean(district))
    return state


def _analyze():
    from django.db import connection

    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            for table in ("people_student", "people_guardian", "people_guardianship", "notices_receipt", "notices_receiptclass", "org_orgunit", "accounts_apitoken"):
                cur.execute(f"VACUUM ANALYZE {table}")
        else:
            cur.execute("ANALYZE")


def _no_enqueue():
    """Publish without a queue message: the scenario runs the job itself, as the worker would."""
    from jobs import services as jobs

    original = jobs.send_message
    jobs.send_message = lambda job_id, eta: None
    return lambda: setattr(jobs, "send_message", original)


# --- notice-fanout -------------------------------------------------------------------------------------------
@scenario("notice-fanout", "district-wide notice: every receipt written by the fan-out job (s)")
def notice_fanout(ctx: Context) -> Result:
    from django.db import connection, transaction
    from django.utils import timezone

    from bench.__main__ import peak_rss_mb
    from jobs import services as jobs
    from messaging.models import Delivery
    from notices import conf as notices_conf
    from notices import fanout, services
    from notices import sql as notices_sql
    from notices.audience import resolve
    from notices.models import Notice, NoticeJob, Receipt, ReceiptClass

    state = _prepare(ctx)
    admin, district = state["admin"], state["district"]
    audience = resolve(admin, unit_ids=[district.pk], include_guardians=True, staff_roles=[], student_nos=[])
    restore = _no_enqueue()
    try:
        floor_notice = services.notice_create(actor=admin, title="基准：地板", body="floor", audience=audience)
        notice = services.notice_create(actor=admin, title=NOTICE_TITLE, body="明天全区中小学停课一天。", audience=audience)
    finally:
        restore()
    cond, params = notices_sql.audience_condition(notice.audience)
    span = fanout.guardian_id_range()
    with connection.cursor() as cur:  # warm the caches the same way for both
        cur.execute("SELECT COUNT(*) FROM people_guardianship gs JOIN people_student s ON s.id = gs.student_id")
    # Floor: the same receipt rows in one server-side INSERT … SELECT.
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(notices_sql.receipt_batch(cond, connection.vendor), [floor_notice.pk, timezone.now(), False, span[0], span[1] + 1, *params])
    floor = time.perf_counter() - started
    floor_rows = Receipt.objects.filter(notice=floor_notice).count()
    # The product: the job as the worker runs it.
    job = NoticeJob.objects.select_related("notice").get(notice=notice, kind="fanout")
    row = jobs.claim(jobs.Job.objects.get(key=services.job_key(job.pk)).pk)  # heartbeats go to this outbox row
    with jobs.running(row):
        started = time.perf_counter()
        fanout.run_fanout_receipts(job)
        value = time.perf_counter() - started
        rss_after_receipts = peak_rss_mb()
        started = time.perf_counter()
        fanout.run_fanout(job)  # the rest: publish, push rows (receipts are done: the cursor is past the end)
        jobs.complete(row)
        rest = time.perf_counter() - started
    receipts = Receipt.objects.filter(notice=notice).count()
    dup = receipts - Receipt.objects.filter(notice=notice).values("guardian_id").distinct().count()
    # The floor's rows are not needed any more.
    qs = Receipt.objects.filter(notice=floor_notice)
    qs._raw_delete(qs.db)
    Notice.objects.filter(pk=floor_notice.pk).update(status="withdrawn")
    ctx.state["notice_id"] = notice.pk
    return Result(
        "notice-fanout",
        value,
        "s",
        floor,
        {
            "receipts": f"{receipts} (floor {floor_rows}; duplicates {dup}); second-class rows {ReceiptClass.objects.filter(notice=notice).count()}",
            "batches": f"{math.ceil((span[1] - span[0] + 1) / notices_conf.fanout_batch())} guardian-id ranges of {notices_conf.fanout_batch()}",
            "after receipts (publish + push rows)": f"{rest:.2f} s, {Delivery.objects.filter(source='notice:' + str(notice.pk)).count()} push rows",
            "peak memory after receipts": f"{rss_after_receipts:.0f} MB (process RSS; the rows never enter Python)",
        },
    )


def _notice(ctx: Context):
    from notices.models import Notice

    if "notice_id" not in ctx.state and ctx.reuse:
        kept = Notice.objects.filter(district=ctx.state["notices"]["district"], title=NOTICE_TITLE, status="published").order_by("-pk").first()
        if kept is not None:
            ctx.state["notice_id"] = kept.pk
    if "notice_id" not in ctx.state:
        notice_fanout(ctx)
    return Notice.objects.select_related("sender_unit").get(pk=ctx.state["notice_id"])


# --- notice-stats ----------------------------------------------------------------------------------------------
@scenario("notice-stats", "per-class read statistics of the district notice with 40 % read (ms p99)")
def notice_stats(ctx: Context) -> Result:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from core.scoping import forget_scope
    from notices import selectors

    state = _prepare(ctx)
    notice = _notice(ctx)
    admin = state["admin"]
    with connection.cursor() as cur:
        cur.execute("UPDATE notices_receipt SET read_at = NULL WHERE notice_id = %s", [notice.pk])
        cur.execute("UPDATE notices_receipt SET read_at = %s WHERE notice_id = %s AND id %% 5 < 2", [timezone.now(), notice.pk])
        # As notice_open does for families with children in two classes.
        cur.execute(
            "UPDATE notices_receiptclass SET read_at = (SELECT r.read_at FROM notices_receipt r WHERE r.id = receipt_id) WHERE notice_id = %s",
            [notice.pk],
        )
    _analyze()
    floor_sql = "SELECT school_class_id, COUNT(*), COUNT(read_at), COUNT(replied_at) FROM notices_receipt WHERE notice_id = %s GROUP BY school_class_id"
    _settle_like_a_worker()
    product, floor = [], []
    for i in range(105):
        forget_scope(admin)
        started = time.perf_counter()
        stats = selectors.notice_stats(admin, notice)
        elapsed = time.perf_counter() - started
        started = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute(floor_sql, [notice.pk])
            cur.fetchall()
        floor_elapsed = time.perf_counter() - started
        if i >= 5:  # warm-up
            product.append(elapsed * 1000)
            floor.append(floor_elapsed * 1000)
    with CaptureQueriesContext(connection) as queries:
        forget_scope(admin)
        selectors.notice_stats(admin, notice)
    return Result(
        "notice-stats",
        load.percentile(product, 99),
        "ms",
        load.percentile(floor, 99),
        {
            "classes": f"{len(stats.classes)} classes in {len(stats.schools)} schools; read {stats.totals.read}/{stats.totals.total} ({stats.totals.read_pct} %)",
            "median": f"{statistics.median(product):.1f} ms (floor {statistics.median(floor):.1f} ms)",
            "queries": f"{len(queries)} (scope included)",
        },
    )


# --- inbox -------------------------------------------------------------------------------------------------------
@scenario("inbox", "a guardian with 500 notices opens the inbox page (ms p99 server time)")
def inbox(ctx: Context) -> Result:
    import datetime as dt

    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings
    from django.urls import reverse
    from django.utils import timezone

    from accounts.models import User
    from notices.models import Notice, NoticeStatus, Receipt
    from people.models import Guardian

    state = _prepare(ctx)
    district, admin = state["district"], state["admin"]
    guardian = Guardian.objects.filter(pk__in=state["chosen"]).select_related("user").first()
    child = guardian.guardianships.select_related("student__school_class").first().student
    now = timezone.now()
    with transaction.atomic():
        # A reused district still holds an earlier run's 500: the guardian must have 500, not 1,000.
        earlier = Notice.objects.filter(district=district, title__regex=r"^第[0-9]+周班级通知$")
        for qs in (Receipt.objects.filter(notice__in=earlier), earlier):
            qs._raw_delete(qs.db)
        notices = Notice.objects.bulk_create(
            [
                Notice(district=district, sender=admin, sender_unit=child.school_class, sender_label=f"{child.school_class.name} · 班主任",
                       title=f"第{i + 1}周班级通知", body="<p>本周安排……</p>", status=NoticeStatus.PUBLISHED, publish_at=now,
                       published_at=now, reply_kind="confirm" if i % 7 == 0 else "none", audience={})
                for i in range(500)
            ]
        )
        Receipt.objects.bulk_create(
            [Receipt(notice=n, guardian=guardian, household_id=guardian.household_id, school_class_id=child.school_class_id,
                     students=f"/{child.pk}/", created_at=now - dt.timedelta(minutes=500 - i), read_at=now if i % 5 else None)
             for i, n in enumerate(notices)]
        )
    _analyze()
    user = User.objects.get(pk=guardian.user_id)
    client = Client()
    client.force_login(user)
    url = reverse("notices:inbox")
    _settle_like_a_worker()
    product, floor = [], []
    with override_settings(ROOT_URLCONF=__name__):
        for i in range(210):
            started = time.perf_counter()
            response = client.get(url)
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, response.status_code
            started = time.perf_counter()
            client.get("/bench/bare/")
            floor_elapsed = time.perf_counter() - started
            if i >= 10:
                product.append(elapsed * 1000)
                floor.append(floor_elapsed * 1000)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
    shown = response.content.decode().count('data-testid="inbox-item"')
    return Result(
        "inbox",
        load.percentile(product, 99),
        "ms",
        load.percentile(floor, 99),
        {
            "notices in the inbox": f"{Receipt.objects.filter(guardian=guardian).count()} ({shown} on the first page, unread first)",
            "queries": f"{len(queries)} per request (session, user, scope, page, unread count, children)",
            "median": f"{statistics.median(product):.1f} ms (bare view {statistics.median(floor):.1f} ms)",
        },
    )


# --- read-burst ----------------------------------------------------------------------------------------------------
DONE_LUA = r"""
function done(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d %d %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), latency.max, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout))
end
"""

# Numbers wrk's threads 0, 1, … (as tid), so that each can take its own share of the tokens.
THREAD_ID_LUA = r"""
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end
"""

# Each wrk thread takes its own slice of the tokens: 20,000 distinct guardians, each opening once.
BURST_LUA = THREAD_ID_LUA + r"""
local tokens = {}
local first, last, idx, got = 0, 0, 0, 0
local said = false

function init(args)
  for line in io.lines("__TOKENS__") do tokens[#tokens + 1] = line end
  local per = math.ceil(#tokens / __THREADS__)
  first = tid * per + 1
  last = math.min(#tokens, (tid + 1) * per)
  -- wrk calls request() once per thread before sending anything: that call gets a repeat of the first token.
  idx = first - 1
end

function request()
  local t = tokens[math.max(first, math.min(idx, last))]
  idx = idx + 1
  return wrk.format("GET", "__PATH__", {["Authorization"] = "Bearer " .. t})
end

function response(status, headers, body)
  got = got + 1
  if got >= (last - first + 1) and not said then
    -- Tells the runner this thread's guardians have all been answered (it stops wrk when every thread has).
    said = true
    io.write("SHARE_DONE\n")
    io.stdout:flush()
    wrk.thread:stop()
  end
end
""" + DONE_LUA


# The floor's client does what the burst's does for each request (a Lua request() that sets a distinct
# guardian's bearer header, a response() callback), so that the two runs differ only in the view served.
FLOOR_LUA = THREAD_ID_LUA + r"""
local tokens = {}
local idx = 0

function init(args)
  for line in io.lines("__TOKENS__") do tokens[#tokens + 1] = line end
  idx = tid * 7919
end

function request()
  idx = idx + 1
  return wrk.format("GET", "__PATH__", {["Authorization"] = "Bearer " .. tokens[(idx % #tokens) + 1]})
end

function response(status, headers, body)
end
""" + DONE_LUA


def _wrk_result(out: str, err: str, seconds: float | None = None) -> dict:
    """The figures of DONE_LUA's RESULT line; seconds: the run's length timed from outside, else wrk's own."""
    line = next((ln for ln in out.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {out[-500:]} {err[-500:]}")
    n, duration, p50, p99, mx, ec, er, ew, es, et = (int(x) for x in line.split()[1:])
    seconds = seconds if seconds is not None else duration / 1e6
    return {"requests": n, "seconds": seconds, "p50_ms": p50 / 1000, "p99_ms": p99 / 1000, "max_ms": mx / 1000,
            "errors": ec + er + ew + es + et, "status_errors": es, "rps": n / seconds}


def _combined(runs: list[dict]) -> dict:
    """Runs taken as one: requests over their summed time; p50 the median of theirs, p99 the worst."""
    requests, seconds = sum(r["requests"] for r in runs), sum(r["seconds"] for r in runs)
    return {"requests": requests, "seconds": seconds, "rps": requests / seconds, "p50_ms": statistics.median(r["p50_ms"] for r in runs),
            "p99_ms": max(r["p99_ms"] for r in runs), "max_ms": max(r["max_ms"] for r in runs), "errors": sum(r["errors"] for r in runs)}


def _wrk(args: list[str]) -> dict:
    done = subprocess.run(["wrk", *args], capture_output=True, text=True, timeout=600)
    return _wrk_result(done.stdout, done.stderr)


def _burst(args: list[str], threads: int) -> dict:
    """Run wrk until each of its threads has had an answer for every guardian of its share, timing that moment
    from outside (wrk keeps its connections open until its duration ends even when every thread has stopped
    sending). The threads say so on wrk's output, so the runner adds no load of its own to the measurement
    (polling the receipt count took 5–15 ms of the database ten times a second)."""
    proc = subprocess.Popen(["wrk", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started = time.perf_counter()
    elapsed, done, lines = None, 0, []
    try:
        for line in proc.stdout:
            if line.startswith("SHARE_DONE"):
                done += 1
                if done == threads:
                    elapsed = time.perf_counter() - started
                    break
            else:
                lines.append(line)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # wrk prints its statistics and exits
        out, err = proc.communicate(timeout=60)
    return {**_wrk_result("".join(lines) + out, err, elapsed), "completed": elapsed is not None}


@scenario("read-burst", "gunicorn + wrk: 20,000 guardians open the notice (ms p99)")
def read_burst(ctx: Context) -> Result:
    from django.conf import settings
    from django.db import connection

    from notices.models import Receipt

    if not shutil.which("wrk"):
        raise SystemExit("read-burst needs wrk: apt-get install -y wrk")
    state = _prepare(ctx)
    notice = _notice(ctx)
    accounts = state["accounts"]
    with connection.cursor() as cur:
        cur.execute("UPDATE notices_receipt SET read_at = NULL WHERE notice_id = %s", [notice.pk])
        cur.execute("UPDATE notices_receiptclass SET read_at = NULL WHERE notice_id = %s", [notice.pk])
    _analyze()
    if connection.vendor == "postgresql":
        # Write out what the reset dirtied now, not during the measurement (as pgbench does before a run).
        with connection.cursor() as cur:
            cur.execute("CHECKPOINT")
    # The production set-up of docs/deploy.md: 2 × cores workers of 4 threads (gthread, with keep-alive).
    workers = int(os.environ.get("BENCH_GUNICORN_WORKERS", str(2 * (os.cpu_count() or 1))))
    threads_per_worker = int(os.environ.get("BENCH_GUNICORN_THREADS", "4"))
    conns = int(os.environ.get("BENCH_WRK_CONNECTIONS", "12"))
    threads = 2
    port = load.free_port()
    tmp = Path(tempfile.mkdtemp(prefix="gy-burst-"))
    (tmp / "tokens.txt").write_text("\n".join(k for _u, k in accounts) + "\n")
    env = {**os.environ, "LOG_LEVEL": "WARNING", "DJANGO_SETTINGS_MODULE": "gongyu.settings"}
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        env["SQLITE_PATH"] = str(settings.DATABASES["default"]["NAME"])
    root = Path(__file__).resolve().parents[2]
    log_file = (tmp / "gunicorn.log").open("w")
    conf = tmp / "gunicorn_conf.py"
    conf.write_text(GUNICORN_CONF.replace("__ROOT__", str(root)))
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "gongyu.wsgi:application", "--config", str(conf), "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--worker-class", "gthread", "--threads", str(threads_per_worker), "--log-level", "warning", "--backlog", "2048"],
        cwd=root, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        load.wait_for(port)
        base = f"http://127.0.0.1:{port}"

        def script(name: str, text: str) -> str:
            (tmp / name).write_text(text)
            return str(tmp / name)

        def run(duration: str, lua: str, url: str = base, *, burst: bool = False) -> dict:
            args = ["-t", str(threads), "-c", str(conns), "-d", duration, "-s", lua, url]
            return _burst(["--timeout", "5s", *args], threads) if burst else _wrk(args)

        bare_lua = script("bare.lua", DONE_LUA)
        floor_lua = script("floor.lua", FLOOR_LUA.replace("__TOKENS__", str(tmp / "tokens.txt")).replace("__PATH__", "/bench/bare/"))
        # Warm up both paths (each worker opens its database connection); the bare view under wrk's static
        # request, under the API's prefix and behind the API token check, reported beside the yardstick.
        run("3s", bare_lua, f"{base}/bench/bare/")
        static = run("10s", bare_lua, f"{base}/bench/bare/")
        auth_lua = script("auth.lua", f'wrk.headers["Authorization"] = "Bearer {accounts[0][1]}"\n' + DONE_LUA)
        authed = run("10s", auth_lua, f"{base}/bench/bare-auth/")
        api_bare = run("10s", script("api_floor.lua", FLOOR_LUA.replace("__TOKENS__", str(tmp / "tokens.txt")).replace("__PATH__", "/api/bench/bare/")))
        # The burst in PARTS parts, with the yardstick (the bare view, same client script) for 5 s before
        # each part and after the last: this shared 2-core machine drifts by a fifth over a minute, and
        # interleaving exposes both sides to the same drift. Each part is a fresh set of guardians.
        parts, floors = [], []
        size = math.ceil(len(accounts) / PARTS)
        for i in range(PARTS):
            floors.append(run("5s", floor_lua))
            chunk = script(f"tokens{i}.txt", "\n".join(k for _u, k in accounts[i * size : (i + 1) * size]) + "\n")
            burst_lua = script(
                f"burst{i}.lua",
                BURST_LUA.replace("__TOKENS__", chunk).replace("__THREADS__", str(threads)).replace("__PATH__", f"/api/v1/notices/{notice.pk}"),
            )
            parts.append(run("300s", burst_lua, burst=True))
        floors.append(run("5s", floor_lua))
        burst = _combined(parts)
        floor = _combined(floors)
    except Exception:
        log_file.flush()
        ctx.log("gunicorn log: " + (tmp / "gunicorn.log").read_text()[-2000:])
        raise
    finally:
        log_file.close()
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        shutil.rmtree(tmp, ignore_errors=True)
    read = Receipt.objects.filter(notice=notice, read_at__isnull=False).count()
    ratio = burst["rps"] / floor["rps"] if floor["rps"] else 0
    if not all(p["completed"] for p in parts):
        ctx.log("warning: the burst did not reach every guardian before wrk's duration ended")
    return Result(
        "read-burst",
        burst["p99_ms"],
        "ms",
        floor["p99_ms"],
        {
            "set-up": f"gunicorn {workers} gthread workers × {threads_per_worker} threads (keep-alive), wrk {threads} threads × {conns} connections, "
                      f"loopback; {os.cpu_count()} cores shared with the database",
            "burst": f"{burst['requests']} requests in {burst['seconds']:.1f} s = {burst['rps']:.0f} req/s; p50 {burst['p50_ms']:.1f} ms, p99 {burst['p99_ms']:.1f} ms, max {burst['max_ms']:.0f} ms; errors {burst['errors']}",
            "receipts marked read": f"{read} (distinct guardians: {len(accounts)})",
            "burst parts": ", ".join(f"{p['rps']:.0f}" for p in parts) + " req/s",
            "bare view": f"{floor['rps']:.0f} req/s (5-s runs before each part and after the last: "
                         + ", ".join(f"{f['rps']:.0f}" for f in floors) + f"), p99 {floor['p99_ms']:.1f} ms; burst/bare = {100 * ratio:.0f} % (target ≥ 35 %)",
            "bare view, wrk's static request": f"{static['rps']:.0f} req/s, p99 {static['p99_ms']:.1f} ms; burst/that = {100 * burst['rps'] / static['rps']:.0f} %",
            "bare view under the API's prefix (the API's middleware)": f"{api_bare['rps']:.0f} req/s, p99 {api_bare['p99_ms']:.1f} ms; burst/that = {100 * burst['rps'] / api_bare['rps']:.0f} %",
            "bare view behind the API token check": f"{authed['rps']:.0f} req/s, p99 {authed['p99_ms']:.1f} ms; burst/that = {100 * burst['rps'] / authed['rps']:.0f} %",
        },
    )

