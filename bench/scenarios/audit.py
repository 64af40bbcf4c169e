"""audit-append (issue 13): do audited writes still run side by side?

A district of its own (code BAUD) with N students, one guardian each (an account), and a published
parent-school activity open to the whole district. 8 clients — processes forked from this one, each with
its own database connection — each sign up their own guardians for their own session (sign-up locks
the session row, so one session per client keeps that lock out of the measure) for PHASE seconds.
Measured: sign-ups per second with auditing on (activities.signup writes its audit row, as in
production) and the same service with the audit row left out, alternating twice each in the same run.
The figure is the share audited / unaudited (issue 13 asks ≥ 0.80). Afterwards the chain is sealed and
verified: every audited sign-up has exactly one row in a valid chain.
"""

from __future__ import annotations

import multiprocessing
import time

from django.db import connection, connections, transaction

from bench import Context, Result, scenario
from bench.scenarios.activities import _district, _schools, _students

CLIENTS = 8
PHASE = 5.0  # seconds per measured phase
ROUNDS = 3  # unaudited, audited, unaudited, audited, …


def _data(n: int):
    from django.utils import timezone

    from accounts.models import User
    from activities.models import Activity, ActivityKind, ActivityStatus, Audience
    from core.crypto import digest
    from people.models import Guardian, Guardianship, Student
    from periods.services import school_year_ensure, school_year_start_for

    district = _district("BAUD", "审计基准区")
    school_year_ensure(district=district, start_year=school_year_start_for(timezone.localdate()))
    classes = _schools(district, n, "审计")
    _students(district, classes, n)
    students = list(Student.objects.filter(district=district).order_by("id")[:n])
    guardians = list(Guardian.objects.filter(district=district).exclude(user=None).order_by("id"))
    if len(guardians) < n:
        base = 16700000000
        users = [User(phone=str(base + i), name=f"家长{i}", password="!") for i in range(n)]
        User.objects.filter(phone__in=[u.phone for u in users]).delete()
        User.objects.bulk_create(users)
        users = list(User.objects.filter(phone__in=[u.phone for u in users]).order_by("phone"))
        Guardian.objects.bulk_create([
            Guardian(district=district, user=u, name=u.name, phone=u.phone, phone_digest=digest(u.phone)) for u in users
        ])
        guardians = list(Guardian.objects.filter(district=district).exclude(user=None).order_by("id"))
        Guardianship.objects.bulk_create([Guardianship(guardian=g, student=s, relation="mother") for g, s in zip(guardians, students, strict=False)])
    activity = Activity.objects.create(
        district=district, owner_unit=district, kind=ActivityKind.PARENT_SCHOOL, title="审计基准：家长学校", venue="报告厅",
        audience=Audience.FAMILIES, status=ActivityStatus.PUBLISHED, credited_hours=1, requires_signup=True, max_party_size=5,
    )
    activity.audience_units.set([district.pk])
    return district, activity, [g.user_id for g in guardians[:n]]


def _sessions(activity, count: int) -> list[int]:
    from django.utils import timezone

    from activities.models import ActivitySession

    start = timezone.now() + timezone.timedelta(days=7)
    return [ActivitySession.objects.create(activity=activity, district_id=activity.district_id, starts_at=start,
                                           ends_at=start + timezone.timedelta(hours=2), capacity=None).pk for _ in range(count)]


def _client(session_id: int, user_ids: list[int], audited: bool, start_at: float, seconds: float, out) -> None:
    """One client (a forked process): sign up its guardians one after another until the time is up."""
    import activities.services as services
    from accounts.models import User

    connections.close_all()  # the parent's connection must not be shared across fork
    if not audited:
        services.record = lambda *a, **k: None
    users = list(User.objects.filter(pk__in=user_ids).order_by("pk"))
    for user in users[:3]:  # warm the scope cache and the connection, unmeasured
        services.get_scope(user)
    while time.time() < start_at:
        time.sleep(0.005)
    done, end = 0, start_at + seconds
    for user in users:
        if time.time() >= end:
            break
        services.signup_create(actor=user, session_id=session_id, include_self=True, student_ids=[])
        done += 1
    out.put((done, time.time() - start_at))
    connections.close_all()


def _phase(activity, user_ids: list[int], audited: bool) -> float:
    sessions = _sessions(activity, CLIENTS)
    share = [user_ids[i::CLIENTS] for i in range(CLIENTS)]
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    connections.close_all()
    start_at = time.time() + 2.0  # every client connected and warm before the clock starts
    procs = [ctx.Process(target=_client, args=(sessions[i], share[i], audited, start_at, PHASE, out)) for i in range(CLIENTS)]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        if p.exitcode != 0:
            raise RuntimeError(f"audit-append: a client exited with {p.exitcode}")
    done = sum(d for d, _s in results)
    elapsed = max(s for _d, s in results)
    return done / elapsed


@scenario("audit-append", "8 concurrent clients doing audited sign-ups vs the same sign-ups with auditing off")
def audit_append(ctx: Context) -> Result:
    from activities.models import SignUp
    from audit import services as audit_services
    from audit.models import AuditEvent

    if connection.vendor != "postgresql":
        raise RuntimeError("audit-append measures concurrent writers: run it on PostgreSQL (set DATABASE_URL)")
    started = time.perf_counter()
    district, activity, user_ids = _data(ctx.students)
    ctx.log(f"data: {len(user_ids)} guardians with accounts, ready in {time.perf_counter() - started:.1f} s")
    first_audit = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    rates = {True: [], False: []}
    for _round in range(ROUNDS):
        for audited in (False, True):
            rate = _phase(activity, user_ids, audited)
            rates[audited].append(rate)
            ctx.log(f"{'audited' if audited else 'unaudited'}: {rate:.0f} sign-ups/s")
    audited_rate = sum(rates[True]) / len(rates[True])
    unaudited_rate = sum(rates[False]) / len(rates[False])
    share = audited_rate / unaudited_rate
    signups = SignUp.objects.filter(activity=activity).count()
    rows = AuditEvent.objects.filter(id__gt=first_audit, action="activities.signup").count()
    seal = getattr(audit_services, "seal", None)  # the keyed chain seals asynchronously; the old one sealed inline
    if seal:
        seal()
    report = audit_services.verify_chain(AuditEvent)
    details = {
        "database": connection.settings_dict.get("NAME"),
        "clients": f"{CLIENTS} processes, own connections, own session each, {PHASE:.0f} s per phase, {ROUNDS} rounds",
        "audited": ", ".join(f"{r:.0f}/s" for r in rates[True]),
        "unaudited": ", ".join(f"{r:.0f}/s" for r in rates[False]),
        "audit rows": f"{rows} for the audited sign-ups; chain {'valid' if report.ok else 'BROKEN at ' + str(report.first_broken_id)}, "
                      f"{report.checked} rows",
        "sign-ups": str(signups),
    }
    if not report.ok:
        raise RuntimeError("audit-append: the chain does not verify after the run")
    if not ctx.keep:
        ctx.state.setdefault("cleanups", []).append(lambda: _clean(activity))
    print(f"audit-append: {share:.2f} share (audited {audited_rate:.0f}/s, unaudited {unaudited_rate:.0f}/s)", flush=True)
    return Result("audit-append", share, "share", 1.0, details=details)


def _clean(activity) -> None:
    with connection.cursor() as cur, transaction.atomic():
        cur.execute("DELETE FROM activities_signupperson WHERE session_id IN "
                    "(SELECT id FROM activities_activitysession WHERE activity_id = %s)", [activity.pk])
        cur.execute("DELETE FROM activities_signup WHERE activity_id = %s", [activity.pk])
        cur.execute("DELETE FROM activities_activity_audience_units WHERE activity_id = %s", [activity.pk])
        cur.execute("DELETE FROM activities_activitysession WHERE activity_id = %s", [activity.pk])
        cur.execute("DELETE FROM activities_activity WHERE id = %s", [activity.pk])
