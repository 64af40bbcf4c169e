"""coverage and checkin-burst (issue 5).

coverage: a district of its own (code BCOV) with N students in classes of 40 (60 classes a school), 150
activities with 10 sessions each spread over the current semester, and 10·N participation records for
the semester (70 % of families took part, each of them in about 14 sessions). Measured: the coverage
query layer (activities.selectors.class_coverage) for every class of the district — students and
families that took part, per class — median of 7 warm runs. Floor: the same figures from one
hand-written SQL statement, median of 7 warm runs in the same process.

checkin-burst: gunicorn (4 workers) serving the platform on this database, one parent-school session
in its check-in window with 500 signed-up families; an open-loop load generator on loopback (bench/load.py)
sends each guardian's check-in (themselves + their child, the POST a phone makes after scanning the QR
code, with the scan's grant in the server-side session) paced at 55 requests per second, so that all 500
arrive within 10 s. The workers are warmed first with the check-in page, as a server that has been up is. Checked
afterwards in the database: every guardian and child checked in exactly once, no duplicates, and the
learning hours credited once. Floor: the same paced load on /healthz (session, auth and one query).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import statistics
import subprocess
import time
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Min

from bench import Context, Result, load, scenario

CLASS_SIZE = 40
CLASSES_PER_GRADE = 10
GRADES = 6
ACTIVITIES = 150
SESSIONS_PER_ACTIVITY = 10
TOOK_PART = 0.7


# --- building a district quickly ---------------------------------------------------------------------------


def _district(code: str, name: str):
    from org.models import Kind, OrgUnit
    from org.services import unit_create

    district = OrgUnit.objects.filter(kind=Kind.DISTRICT, code=code).first()
    return district or unit_create(actor=None, kind=Kind.DISTRICT, name=name, parent=None, code=code)


def _bulk_units(parents, kind: str, make) -> list:
    """Children for each parent, inserted in bulk with their materialised paths (no audit rows: bench data)."""
    from org.models import OrgUnit

    rows = []
    for parent in parents:
        for fields in make(parent):
            rows.append(OrgUnit(kind=kind, parent=parent, district_id=parent.district_id, depth=parent.depth + 1, **fields))
    created = []
    for i in range(0, len(rows), 2000):
        created += OrgUnit.objects.bulk_create(rows[i : i + 2000])
    if created and created[0].pk is None:  # SQLite before RETURNING support: fetch them back
        created = list(OrgUnit.objects.filter(parent__in=parents, kind=kind).order_by("id"))
    by_parent = {p.pk: p for p in parents}
    for unit in created:
        unit.path = f"{by_parent[unit.parent_id].path}{unit.pk}/"
    OrgUnit.objects.bulk_update(created, ["path"], batch_size=2000)
    return created


def _schools(district, students: int, prefix: str):
    """Schools, grades and classes for `students` students; returns the classes."""
    from org.models import Kind, OrgUnit

    existing = list(OrgUnit.objects.filter(district=district, kind=Kind.CLASS).order_by("path"))
    n_classes = math.ceil(students / CLASS_SIZE)
    if len(existing) >= n_classes:
        return existing[:n_classes]
    per_school = GRADES * CLASSES_PER_GRADE
    have_schools = OrgUnit.objects.filter(district=district, kind=Kind.SCHOOL).count()
    n_schools = math.ceil((n_classes - len(existing)) / per_school)
    schools = _bulk_units([district], Kind.SCHOOL, lambda d: [
        {"name": f"{prefix}第{i}小学", "code": f"{prefix}{i:04d}", "stage": "primary"}
        for i in range(have_schools + 1, have_schools + n_schools + 1)])
    grades = _bulk_units(schools, Kind.GRADE, lambda s: [{"name": f"{g}年级", "grade_year": g} for g in range(1, GRADES + 1)])
    classes = _bulk_units(grades, Kind.CLASS, lambda g: [
        {"name": f"{g.grade_year}({c})班", "class_no": c} for c in range(1, CLASSES_PER_GRADE + 1)])
    classes = existing + sorted(classes, key=lambda c: c.path)
    return classes[:n_classes]


def _students(district, classes, students: int) -> int:
    from core.crypto import digest, encrypt
    from people.models import Student

    have = Student.objects.filter(district=district).count()
    if have >= students:
        return have
    with connection.cursor() as cur, transaction.atomic():  # bench data: no per-row audit on the way out
        cur.execute("DELETE FROM activities_familyperiod WHERE district_id = %s", [district.pk])
        cur.execute("DELETE FROM activities_participation WHERE district_id = %s", [district.pk])
        cur.execute("DELETE FROM people_student WHERE district_id = %s", [district.pk])
    school_of = {c.pk: int(c.path.strip("/").split("/")[1]) for c in classes}
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            with transaction.atomic():
                cur.execute("CREATE TEMP TABLE IF NOT EXISTS bench_cls (rn int, id bigint, school_id bigint) ON COMMIT DROP")
                args = [(i, c.pk, school_of[c.pk]) for i, c in enumerate(classes)]
                cur.executemany("INSERT INTO bench_cls VALUES (%s, %s, %s)", args)
                # The 学籍号 is stored encrypted with its digest (people.Student): both computed here.
                nos = [f"BC{g}" for g in range(students)]
                cur.execute(
                    """INSERT INTO people_student (district_id, school_id, school_class_id, name, gender, student_no,
                                                   student_no_digest, id_number, id_digest, is_active, created_at, updated_at)
                       SELECT %s, c.school_id, c.id, '学生' || t.g, '', t.enc, t.dig, '', '', true, now(), now()
                       FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS t(g, enc, dig) JOIN bench_cls c ON c.rn = t.g / %s""",
                    [district.pk, list(range(students)), [encrypt(n) for n in nos], [digest(n) for n in nos], CLASS_SIZE],
                )
        return students
    rows = [Student(district=district, school_id=school_of[classes[g // CLASS_SIZE].pk], school_class=classes[g // CLASS_SIZE],
                    name=f"学生{g}", student_no=f"BC{g}") for g in range(students)]
    Student.objects.bulk_create(rows, batch_size=2000)
    return students


def _sessions(district, classes, window) -> list[int]:
    from activities.models import Activity, ActivityKind, ActivitySession, ActivityStatus

    have = list(ActivitySession.objects.filter(district=district).order_by("id").values_list("id", flat=True))
    if len(have) >= ACTIVITIES * SESSIONS_PER_ACTIVITY:
        return have
    school_ids = sorted({int(c.path.strip("/").split("/")[1]) for c in classes})
    activities = Activity.objects.bulk_create([
        Activity(district=district, owner_unit_id=school_ids[i % len(school_ids)], kind=ActivityKind.PARENT_CHILD, title=f"基准活动{i}",
                 venue="学校", status=ActivityStatus.PUBLISHED) for i in range(ACTIVITIES)
    ])
    if activities[0].pk is None:
        activities = list(Activity.objects.filter(district=district).order_by("id"))
    days = max((window.end - window.start).days, 1)
    tz = dt.timezone(dt.timedelta(hours=8))
    rows = []
    for i, a in enumerate(activities):
        for j in range(SESSIONS_PER_ACTIVITY):
            day = window.start + dt.timedelta(days=(i * SESSIONS_PER_ACTIVITY + j) * 7 % days)
            start = dt.datetime.combine(day, dt.time(9, 0), tzinfo=tz)
            rows.append(ActivitySession(activity=a, district=district, starts_at=start, ends_at=start + dt.timedelta(hours=2)))
    ActivitySession.objects.bulk_create(rows)
    return list(ActivitySession.objects.filter(district=district).order_by("id").values_list("id", flat=True))


def _participation(district, students: int, session_ids: list[int]) -> int:
    """10·N rows: 70 % of students' families, each in ~14 sessions (never twice in one)."""
    from ledger.models import Participation

    target = 10 * students
    have = Participation.objects.filter(district=district).count()
    if have >= target:
        return have
    with connection.cursor() as cur:
        cur.execute("DELETE FROM activities_participation WHERE district_id = %s", [district.pk])
    _clean_rollup(district)
    took = int(students * TOOK_PART)
    if connection.vendor != "postgresql":
        raise RuntimeError("the coverage benchmark's 1,000,000-row data set is generated on PostgreSQL (set DATABASE_URL)")
    with connection.cursor() as cur, transaction.atomic():
        cur.execute("CREATE TEMP TABLE bench_st ON COMMIT DROP AS SELECT (row_number() OVER (ORDER BY md5(s.id::text)) - 1)::int rn, "
                    "s.id, s.district_id, s.school_id, s.school_class_id, c.path FROM people_student s "
                    "JOIN org_orgunit c ON c.id = s.school_class_id WHERE s.district_id = %s", [district.pk])
        cur.execute("CREATE INDEX ON bench_st (rn)")
        cur.execute("CREATE TEMP TABLE bench_se ON COMMIT DROP AS SELECT (row_number() OVER (ORDER BY id) - 1)::int rn, id, "
                    "(starts_at AT TIME ZONE 'Asia/Shanghai')::date AS day FROM activities_activitysession WHERE id = ANY(%s)",
                    [session_ids])
        cur.execute("CREATE INDEX ON bench_se (rn)")
        # Row g: student rn = g mod took (so every block of `took` rows has each family once), session from the
        # block number and the student: unique (session, student) by construction.
        cur.execute(
            """INSERT INTO activities_participation (district_id, student_id, school_id, school_class_id, class_path, day, source,
                                                     kind, source_key, created_at)
               SELECT st.district_id, st.id, st.school_id, st.school_class_id, st.path, se.day, 'activity', 'parent_child',
                      'activity.session:' || se.id, now()
               FROM generate_series(0, %s) g
               JOIN bench_st st ON st.rn = g %% %s
               JOIN bench_se se ON se.rn = ((g / %s) * 100 + st.rn %% 100) %% %s""",
            [target - 1, took, took, len(session_ids)],
        )
    with connection.cursor() as cur:
        cur.execute("ANALYZE activities_participation")
        cur.execute("ANALYZE people_student")
        cur.execute("ANALYZE org_orgunit")
    return Participation.objects.filter(district=district).count()


def _clean_rollup(district) -> None:
    with connection.cursor() as cur:
        cur.execute("DELETE FROM activities_familyperiod WHERE district_id = %s", [district.pk])
        cur.execute("DELETE FROM activities_periodrollup WHERE period_id IN (SELECT id FROM periods_period WHERE district_id = %s)",
                    [district.pk])


def _clean(district) -> None:
    with connection.cursor() as cur, transaction.atomic():
        cur.execute("DELETE FROM activities_familyperiod WHERE district_id = %s", [district.pk])
        cur.execute("DELETE FROM activities_periodrollup WHERE period_id IN (SELECT id FROM periods_period WHERE district_id = %s)",
                    [district.pk])
        cur.execute("DELETE FROM activities_participation WHERE district_id = %s", [district.pk])
        cur.execute("DELETE FROM activities_activitysession WHERE district_id = %s", [district.pk])
        cur.execute("DELETE FROM activities_activity WHERE district_id = %s", [district.pk])


# --- coverage --------------------------------------------------------------------------------------------

# The floor: the same figures from one hand-written statement over the same tables (students of the unit,
# the period's roll-up), written the way a DBA would: a semi-join for "took part", grouped once.
FLOOR_SQL = """
SELECT s.school_class_id, count(*) AS students, count(t.id) AS took_part
FROM people_student s
JOIN org_orgunit c ON c.id = s.school_class_id
LEFT JOIN (SELECT s2.id FROM people_student s2
           WHERE EXISTS (SELECT 1 FROM activities_familyperiod f WHERE f.period_id = %s AND f.student_id = s2.id)) t ON t.id = s.id
WHERE c.path LIKE %s AND s.is_active
GROUP BY s.school_class_id
"""
# For comparison only: straight from the raw participation rows of the window.
RAW_SQL = """
SELECT s.school_class_id, count(*) AS students, count(t.id) AS took_part
FROM people_student s
JOIN org_orgunit c ON c.id = s.school_class_id
LEFT JOIN (SELECT s2.id FROM people_student s2
           WHERE EXISTS (SELECT 1 FROM activities_participation p WHERE p.student_id = s2.id AND p.day BETWEEN %s AND %s)) t
       ON t.id = s.id
WHERE c.path LIKE %s AND s.is_active
GROUP BY s.school_class_id
"""


def _median_ms(fn, runs: int = 7) -> tuple[float, object]:
    fn()  # warm
    times, out = [], None
    for _ in range(runs):
        started = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), out


@scenario("coverage", "family participation coverage for every class of an N-student district with 10·N records (one semester)")
def coverage(ctx: Context) -> Result:
    from django.utils import timezone

    from activities import selectors
    from periods.services import school_year_ensure, school_year_start_for

    started = time.perf_counter()
    district = _district("BCOV", "覆盖率基准区")
    school_year_ensure(district=district, start_year=school_year_start_for(timezone.localdate()))
    window = selectors.semester_window(district_id=district.pk)
    classes = _schools(district, ctx.students, "覆盖")
    n_students = _students(district, classes, ctx.students)
    session_ids = _sessions(district, classes, window)
    n_rows = _participation(district, ctx.students, session_ids)
    ctx.log(f"data: {len(classes)} classes, {n_students} students, {len(session_ids)} sessions, {n_rows} participation rows "
            f"({window.start}–{window.end}), ready in {time.perf_counter() - started:.1f} s")
    if not ctx.keep:
        ctx.state.setdefault("cleanups", []).append(lambda: _clean(district))

    from ledger import rollup

    started = time.perf_counter()
    rollup.ensure(window.period_id)
    ctx.log(f"roll-up of the semester (once per period, from the participation rows): {time.perf_counter() - started:.1f} s")
    value, rows = _median_ms(lambda: selectors.class_coverage(unit=district, window=window))

    def floor_query():
        with connection.cursor() as cur:
            cur.execute(FLOOR_SQL, [window.period_id, district.path + "%"])
            return cur.fetchall()

    def raw_query():
        with connection.cursor() as cur:
            cur.execute(RAW_SQL, [window.start, window.end, district.path + "%"])
            return cur.fetchall()

    floor, floor_rows = _median_ms(floor_query)
    raw, raw_rows = _median_ms(raw_query, runs=3)
    if sorted(raw_rows) != sorted(floor_rows):
        raise RuntimeError("the roll-up and the participation rows disagree")
    students, took, rate = selectors.total(rows)
    by_class = {r.unit_id: (r.students, r.took_part) for r in rows if r.students}
    if by_class != {cid: (n, t) for cid, n, t in floor_rows}:
        raise RuntimeError("the query layer and the hand-written SQL disagree")
    return Result("coverage", value, "ms", floor, details={
        "classes": len(rows), "families": students, "took part": f"{took} ({rate}%)",
        "query layer (median of 7)": f"{value:.1f} ms",
        "floor: one hand-written SQL statement, same tables (median of 7)": f"{floor:.1f} ms",
        "for comparison, hand-written SQL over the raw participation rows (median of 3)": f"{raw:.1f} ms",
    })


# --- checkin-burst ----------------------------------------------------------------------------------------

BURST = 500
RATE = 55  # requests per second (a little above 50/s so that 500 arrive within 10 s)
def _burst_data(n: int):
    """A school with n families signed up for a parent-school session whose check-in window is open."""
    from django.utils import timezone

    from accounts.models import User
    from activities.models import (
        Activity,
        ActivityKind,
        ActivitySession,
        ActivityStatus,
        Audience,
        SignUp,
        SignUpPerson,
    )
    from core.crypto import digest
    from people.models import Guardian, Guardianship, Student
    from periods.services import school_year_ensure, school_year_start_for

    district = _district("BCHK", "签到基准区")
    school_year_ensure(district=district, start_year=school_year_start_for(timezone.localdate()))
    classes = _schools(district, n, "签到")
    _students(district, classes, n)
    students = list(Student.objects.filter(district=district).order_by("id")[:n])
    guardians = list(Guardian.objects.filter(district=district).order_by("id"))
    if len(guardians) < n:
        base = 16600000000
        users = [User(phone=str(base + i), name=f"家长{i}", password="!") for i in range(n)]
        User.objects.filter(phone__in=[u.phone for u in users]).delete()
        users = User.objects.bulk_create(users)
        users = list(User.objects.filter(phone__in=[u.phone for u in users]).order_by("phone"))
        guardians = Guardian.objects.bulk_create([
            Guardian(district=district, user=u, name=u.name, phone=u.phone, phone_digest=digest(u.phone)) for u in users
        ])
        guardians = list(Guardian.objects.filter(district=district).order_by("id"))
        Guardianship.objects.bulk_create([Guardianship(guardian=g, student=s, relation="mother") for g, s in zip(guardians, students, strict=False)])
    school_id = int(classes[0].path.strip("/").split("/")[1])
    now = timezone.now()
    activity = Activity.objects.create(
        district=district, owner_unit_id=school_id, kind=ActivityKind.PARENT_SCHOOL, title="家长学校：读懂孩子的情绪", venue="报告厅",
        audience=Audience.FAMILIES, status=ActivityStatus.PUBLISHED, credited_hours=2, requires_signup=True,
    )
    activity.audience_units.set([school_id])
    session = ActivitySession.objects.create(activity=activity, district=district, starts_at=now + dt.timedelta(minutes=5),
                                             ends_at=now + dt.timedelta(hours=2), capacity=2 * n, places_taken=2 * n)
    signups = SignUp.objects.bulk_create([
        SignUp(session=session, activity=activity, district=district, guardian=g, status="confirmed", party_size=2, confirmed_at=now)
        for g in guardians[:n]
    ])
    signups = list(SignUp.objects.filter(session=session).order_by("guardian_id"))
    child_of = dict(Guardianship.objects.filter(guardian__in=guardians[:n]).values_list("guardian_id", "student_id"))
    persons = []
    for s in signups:
        persons += [SignUpPerson(signup=s, session=session, guardian_id=s.guardian_id),
                    SignUpPerson(signup=s, session=session, student_id=child_of[s.guardian_id])]
    SignUpPerson.objects.bulk_create(persons)
    return district, activity, session, guardians[:n], child_of


def _logged_in_cookies(guardians, session_id: int) -> list[tuple[str, int]]:
    """A server-side session per guardian, as after log-in and a scan of the code."""
    from importlib import import_module

    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    SessionStore = import_module(settings.SESSION_ENGINE).SessionStore  # noqa: N806 — the configured engine
    from activities import qr

    now = int(time.time())
    out = []
    for g in guardians:
        store = SessionStore()
        user = g.user
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "accounts.backends.PhoneBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store["gy_started"] = now
        store["gy_seen"] = now
        qr.grant_store(store, session_id)
        store.create()
        out.append((store.session_key, g.pk))
    return out


def _as_request(e: dict) -> load.Request:
    headers = {"Cookie": e["cookie"], "X-CSRFToken": e["csrf"], "Host": "127.0.0.1"}
    if e["method"] == "POST":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    return load.Request(e["method"], e["path"], headers, e["body"])


@scenario("checkin-burst", "500 guardians check in within 10 s against gunicorn on this database (paced, loopback)")
def checkin_burst(ctx: Context) -> Result:
    from activities.models import CheckIn
    from ledger.models import LearningHours, Participation

    db = connection.settings_dict
    if connection.vendor != "postgresql":
        raise RuntimeError("checkin-burst runs gunicorn against PostgreSQL: set DATABASE_URL")
    started = time.perf_counter()
    district, activity, session, guardians, child_of = _burst_data(BURST)
    cookies = _logged_in_cookies(guardians, session.pk)
    ctx.log(f"data: {len(guardians)} signed-up families, session {session.pk}, ready in {time.perf_counter() - started:.1f} s")
    csrf = "b" * 32
    path = f"/activities/checkin/{session.pk}/"
    entries = [{"method": "POST", "path": path, "cookie": f"sessionid={key}; csrftoken={csrf}", "csrf": csrf,
                "body": f"self=1&student={child_of[gid]}"} for key, gid in cookies]
    floor_entries = [{"method": "GET", "path": "/healthz", "cookie": f"sessionid={key}; csrftoken={csrf}", "csrf": csrf, "body": ""}
                     for key, _g in cookies]
    port = load.free_port()
    env = {**os.environ, "DATABASE_URL": os.environ["DATABASE_URL"], "GONGYU_ENV": "demo", "LOG_LEVEL": "WARNING",
           "DB_CONN_MAX_AGE": "600"}
    server = subprocess.Popen(
        [str(Path(settings.BASE_DIR) / ".venv" / "bin" / "gunicorn"), "gongyu.wsgi:application", "-b", f"127.0.0.1:{port}", "-w", "4",
         "--log-level", "warning"],
        cwd=settings.BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        load.wait_for(port)
        # Warm every worker on the same pages (imports, URLconf, templates), as a server that has been
        # up for a while is: the check-in page itself, opened by a few of the same guardians.
        warm = [load.Request("GET", path, {"Cookie": e["cookie"], "Host": "127.0.0.1"}) for e in entries[:40]]
        load.paced(port, warm + [load.Request("GET", "/healthz")] * 40, rate=400, threads=4)
        floor = load.paced(port, [_as_request(e) for e in floor_entries], rate=RATE)
        burst = load.paced(port, [_as_request(e) for e in entries], rate=RATE)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    g_rows = CheckIn.objects.filter(session=session).exclude(guardian=None)
    s_rows = CheckIn.objects.filter(session=session).exclude(student=None)
    dup_g = g_rows.count() - g_rows.values("guardian_id").distinct().count()
    dup_s = s_rows.count() - s_rows.values("student_id").distinct().count()
    checked_families = g_rows.values("guardian_id").distinct().count()
    span = g_rows.aggregate(first=Min("at"), last=Max("at"))
    span_s = (span["last"] - span["first"]).total_seconds() if span["first"] else 0.0
    hours = LearningHours.objects.filter(source_key=f"activity.session:{session.pk}")
    errors = burst.errors
    details = {
        "database": db.get("NAME"),
        "requests": f"{len(burst.latencies_ms)} answered in {burst.seconds:.1f} s (open loop paced at {RATE}/s, each guardian once)",
        "answers": ", ".join(f"{n} × {status}" for status, n in sorted(burst.statuses.items())) + f"; socket errors {burst.socket_errors}",
        "checked in": f"{checked_families} of {BURST} guardians, {s_rows.count()} children, within {span_s:.1f} s; "
                      f"duplicates {dup_g + dup_s}",
        "learning hours rows": f"{hours.count()} (one per guardian), participation rows "
                               f"{Participation.objects.filter(source_key=f'activity.session:{session.pk}').count()}",
        "latency": f"p50 {burst.percentile(50):.1f} ms, p99 {burst.percentile(99):.1f} ms, max {max(burst.latencies_ms, default=0):.1f} ms",
        "floor (/healthz, same sessions and pacing)": f"p50 {floor.percentile(50):.1f} ms, p99 {floor.percentile(99):.1f} ms",
    }
    if errors or dup_g or dup_s or checked_families != BURST or s_rows.count() != BURST or hours.count() != BURST or span_s > 10:
        for k, v in details.items():
            ctx.log(f"{k}: {v}")
        raise RuntimeError("checkin-burst: errors, duplicates or missing check-ins (see above)")
    if not ctx.keep:
        keys = [k for k, _g in cookies]
        ctx.state.setdefault("cleanups", []).append(lambda: _clean_burst(district, keys))
    return Result("checkin-burst", burst.percentile(99), "ms", floor.percentile(99), details=details)


def _clean_burst(district, session_keys) -> None:
    from importlib import import_module

    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    for key in session_keys:
        store_class(session_key=key).delete()
    with connection.cursor() as cur, transaction.atomic():
        cur.execute("DELETE FROM activities_signupperson WHERE session_id IN "
                    "(SELECT id FROM activities_activitysession WHERE district_id = %s)", [district.pk])
        cur.execute("DELETE FROM activities_checkin WHERE district_id = %s", [district.pk])
        cur.execute("DELETE FROM activities_participation WHERE district_id = %s", [district.pk])
        cur.execute("DELETE FROM activities_signup WHERE district_id = %s", [district.pk])
        cur.execute("DELETE FROM courses_learninghours WHERE district_id = %s", [district.pk])
        cur.execute("DELETE FROM courses_certificate WHERE district_id = %s", [district.pk])
        cur.execute("DELETE FROM activities_activity_audience_units WHERE activity_id IN "
                    "(SELECT id FROM activities_activity WHERE district_id = %s)", [district.pk])
        cur.execute("DELETE FROM activities_activitysession WHERE district_id = %s", [district.pk])
        cur.execute("DELETE FROM activities_activity WHERE district_id = %s", [district.pk])
