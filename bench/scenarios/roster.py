"""roster-import and roster-reimport (issue 3).

Data: a district of its own (code BENCH) with primary schools of 2,500 students, six grades and classes
of about 40; a generated XLSX in the template layout with N students and 1.8·N guardian rows (fathers,
mothers and grandparents; some siblings sharing guardians), valid ID numbers and mobile numbers.

roster-import: the file validated and committed through the same service the page and the command use,
as the district's admin. Floor: the same file read with calamine and the same final rows (students,
guardians, guardianships, households, with ciphertext and digests) bulk-inserted with no validation.
Both start from a district with no people.

roster-reimport: the same file again (0 rows changed). Floor: the file read and the stored rows
fetched by their keys (学籍号, phone digest, student ids), with no comparison or validation."""

from __future__ import annotations

import datetime as dt
import math
import random
import time
from pathlib import Path

from django.conf import settings
from django.db import transaction

from bench import Context, Result, scenario

SCHOOL_SIZE = 2500
CLASS_SIZE = 40
GRADES = ("一年级", "二年级", "三年级", "四年级", "五年级", "六年级")
GRADE_SHORT = "一二三四五六"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞斌辉宇浩然子涵欣怡梓轩雨萱一诺思远佳琪俊杰嘉怡晨曦"


# --- the bench district -------------------------------------------------------------------------------
def _district_and_admin(students: int):
    from accounts.models import RoleAssignment, User
    from accounts.roles import Role
    from org.models import Kind, OrgUnit
    from org.services import unit_create

    district = OrgUnit.objects.filter(kind=Kind.DISTRICT, code="BENCH").first()
    if district is None:
        district = unit_create(actor=None, kind=Kind.DISTRICT, name="基准测试区", parent=None, code="BENCH")
    n_schools = max(1, math.ceil(students / SCHOOL_SIZE))
    per_grade = max(1, math.ceil(min(students, SCHOOL_SIZE) / len(GRADES) / CLASS_SIZE))
    existing = {(u.parent_id, u.name): u for u in OrgUnit.objects.filter(district=district)}
    classes: list[tuple[str, str, str]] = []  # (school name, grade name, class name)
    for s in range(1, n_schools + 1):
        name = f"基准第{s}小学"
        school = existing.get((district.pk, name)) or unit_create(
            actor=None, kind=Kind.SCHOOL, name=name, parent=district, code=f"B{s:04d}", stage="primary")
        for g, grade_name in enumerate(GRADES, start=1):
            grade = existing.get((school.pk, grade_name)) or unit_create(actor=None, kind=Kind.GRADE, name=grade_name, parent=school, grade_year=g)
            for c in range(1, per_grade + 1):
                class_name = f"{GRADE_SHORT[g - 1]}({c})班"
                if (grade.pk, class_name) not in existing:
                    unit_create(actor=None, kind=Kind.CLASS, name=class_name, parent=grade, class_no=c)
                classes.append((name, grade_name, class_name))
    admin = User.objects.filter(phone="19900000001").first()
    if admin is None:
        admin = User.objects.create_user("19900000001", None, name="基准测试区管理员")
        admin.set_unusable_password()
        admin.save()
    if not RoleAssignment.objects.filter(user=admin, role=Role.DISTRICT_ADMIN, unit=district).exists():
        RoleAssignment.objects.create(user=admin, role=Role.DISTRICT_ADMIN, unit=district, district=district)
    return district, admin, classes


def clean_people(district) -> None:
    """Remove the bench district's people and jobs, straight in SQL: these are benchmark rows, and the
    per-row audit signals would otherwise record every one of them."""
    from people.models import Consent, Guardian, Guardianship, Household, Student
    from roster.models import ImportJob, ImportProblem

    with transaction.atomic():
        for qs in (
            ImportProblem.objects.filter(job__district=district),
            ImportJob.objects.filter(district=district),
            Consent.objects.filter(district=district),
            Guardianship.objects.filter(student__district=district),
            Guardianship.objects.filter(guardian__district=district),
            Guardian.objects.filter(district=district),
            Household.objects.filter(district=district),
            Student.objects.filter(district=district),
        ):
            qs._raw_delete(qs.db)


# --- the file --------------------------------------------------------------------------------------
def generate_file(path: Path, classes: list[tuple[str, str, str]], students: int, seed: int = 20260301) -> dict:
    """Write the roster XLSX; returns what it holds."""
    import xlsxwriter

    from people.validators import make_id_number
    from roster import spec

    rng = random.Random(seed)
    relation_pairs = [("父亲", "母亲")] * 7 + [("母亲", "外祖母"), ("父亲", "祖母"), ("母亲", "祖父")]
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
    text = book.add_format({"num_format": "@"})
    ws_s = book.add_worksheet(spec.STUDENT_SHEET)
    ws_g = book.add_worksheet(spec.GUARDIAN_SHEET)
    # constant_memory writes row by row per sheet, so the guardian rows are kept until the students are done.
    ws_s.write_row(0, 0, [c.header for c in spec.STUDENT_COLUMNS])
    guardian_rows: list[list[str]] = []
    phone_seq = 0
    family: list[tuple[str, str, str]] = []  # (name, phone, relation) of the previous child, for siblings
    per_class = math.ceil(students / len(classes))
    for i in range(students):
        school, grade, cls = classes[min(i // per_class, len(classes) - 1)]
        g_index = GRADES.index(grade)
        birth = dt.date(2019 - g_index, 1, 1) + dt.timedelta(days=(i * 7) % 365)
        gender = "M" if i % 2 else "F"
        idn = make_id_number("110101", birth, (i // 730) % 500, gender)
        surname = SURNAMES[rng.randrange(len(SURNAMES))]
        name = surname + GIVEN[rng.randrange(len(GIVEN))] + (GIVEN[rng.randrange(len(GIVEN))] if i % 3 else "")
        student_no = "G" + idn
        ws_s.write_row(i + 1, 0, ["", school, grade, cls, name, "男" if gender == "M" else "女", student_no, idn, birth.isoformat()], text)
        n_guardians = 1 if i % 5 == 0 else 2  # 1.8 guardian rows per student
        if family and i % 20 == 0 and len(family) >= n_guardians:
            people = family[:n_guardians]  # a sibling: the same guardians as the previous child
        else:
            pair = relation_pairs[rng.randrange(len(relation_pairs))]
            people = []
            for k in range(n_guardians):
                phone_seq += 1
                g_surname = surname if pair[k] in ("父亲", "祖父", "祖母") else SURNAMES[rng.randrange(len(SURNAMES))]
                people.append((g_surname + GIVEN[rng.randrange(len(GIVEN))] + GIVEN[rng.randrange(len(GIVEN))], f"139{phone_seq:08d}", pair[k]))
        family = people
        for k, (g_name, phone, relation) in enumerate(people):
            guardian_rows.append([student_no, name, g_name, relation, phone, "是" if k == 0 else "否", "是" if k == 0 or rng.random() < 0.6 else "否"])
    ws_g.write_row(0, 0, [c.header for c in spec.GUARDIAN_COLUMNS])
    for r, row in enumerate(guardian_rows, start=1):
        ws_g.write_row(r, 0, row, text)
    book.close()
    return {"students": students, "guardian_rows": len(guardian_rows), "guardians": phone_seq}


# --- the floor: the same end state, no validation ------------------------------------------------------
def floor_insert(path: Path, district) -> dict:
    from python_calamine import CalamineWorkbook

    from core.crypto import digest
    from org.models import Kind, OrgUnit
    from people.models import Guardian, Guardianship, Household, Student
    from roster.importer import BATCH
    from roster.normalise import _RELATION_INDEX

    book = CalamineWorkbook.from_path(str(path))
    students = book.get_sheet_by_name("学生").to_python()[1:]
    links = book.get_sheet_by_name("监护人").to_python()[1:]
    book.close()
    units = OrgUnit.objects.filter(district=district, kind__in=[Kind.SCHOOL, Kind.CLASS]).values_list("id", "kind", "name", "path")
    school_ids = {name: uid for uid, kind, name, _p in units if kind == Kind.SCHOOL}
    paths = {uid: path for uid, kind, _n, path in units if kind == Kind.SCHOOL}
    class_ids = {}
    for uid, kind, name, path in units:
        if kind == Kind.CLASS:
            school_id = next(s for s, p in paths.items() if path.startswith(p))
            class_ids.setdefault((school_id, name), uid)
    with transaction.atomic():
        objs = []
        for school, _grade, cls, name, gender, no, idn, birth in (row[1:9] for row in students):
            sid = school_ids[school]
            objs.append(Student(district_id=district.pk, school_id=sid, school_class_id=class_ids[(sid, cls)], name=name,
                                gender="M" if gender == "男" else "F", birth_date=dt.date.fromisoformat(birth), student_no=no,
                                id_number=idn, id_digest=digest(idn)))
        student_ids = {o.student_no: o.pk for o in Student.objects.bulk_create(objs, batch_size=BATCH)}
        first_phone: dict[str, str] = {}
        guardians: dict[str, Guardian] = {}
        for no, _sname, g_name, _rel, phone, _p, _l in links:
            first_phone.setdefault(no, phone)
            guardians.setdefault(phone, Guardian(district_id=district.pk, name=g_name, phone=phone, phone_digest=digest(phone)))
        household_keys = sorted(set(first_phone.values()))
        made = Household.objects.bulk_create([Household(district_id=district.pk) for _k in household_keys], batch_size=BATCH)
        household_of = dict(zip(household_keys, (h.pk for h in made), strict=True))
        for no, _sname, _g, _rel, phone, _p, _l in links:
            guardians[phone].household_id = household_of[first_phone[no]]
        guardian_ids = {g.phone: g.pk for g in Guardian.objects.bulk_create(list(guardians.values()), batch_size=BATCH)}
        Guardianship.objects.bulk_create(
            [Guardianship(guardian_id=guardian_ids[phone], student_id=student_ids[no], relation=_RELATION_INDEX[rel],
                          is_primary=p == "是", lives_with=lv == "是")
             for no, _s, _g, rel, phone, p, lv in links],
            batch_size=BATCH,
        )
    return {"students": len(objs), "guardians": len(guardians), "guardianships": len(links), "households": len(made)}


def floor_fetch(path: Path, district) -> dict:
    """Read the file and fetch the stored rows by their keys: the least a re-import must do."""
    from python_calamine import CalamineWorkbook

    from core.crypto import digest
    from people.models import Guardian, Guardianship, Student
    from roster.importer import _chunks

    book = CalamineWorkbook.from_path(str(path))
    students = book.get_sheet_by_name("学生").to_python()[1:]
    links = book.get_sheet_by_name("监护人").to_python()[1:]
    book.close()
    nos = [digest(row[6]) for row in students]
    digests = sorted({digest(row[4]) for row in links})
    ids, n_guardians, n_links = [], 0, 0
    for chunk in _chunks(nos):
        ids += list(Student.objects.filter(district=district, student_no_digest__in=chunk).values_list("id", "student_no_digest", "name", "school_class_id", "id_digest"))
    for chunk in _chunks(digests):
        n_guardians += len(list(Guardian.objects.filter(district=district, phone_digest__in=chunk).values_list("id", "name")))
    for chunk in _chunks([i[0] for i in ids]):
        n_links += len(list(Guardianship.objects.filter(student_id__in=chunk).values_list("id", "guardian_id", "relation", "is_primary", "lives_with")))
    return {"students": len(ids), "guardians": n_guardians, "guardianships": n_links}


# --- scenarios -------------------------------------------------------------------------------------
def _prepare(ctx: Context):
    key = ("roster", ctx.students)
    if key in ctx.state:
        return ctx.state[key]
    started = time.perf_counter()
    district, admin, classes = _district_and_admin(ctx.students)
    directory = Path(settings.VAR_DIR) / "bench"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"roster-{ctx.students}.xlsx"
    info = generate_file(path, classes, ctx.students)
    ctx.log(f"data: {len(classes)} classes, {info['students']} students, {info['guardian_rows']} guardian rows "
            f"({info['guardians']} distinct guardians), file {path.stat().st_size / 1e6:.1f} MB, built in {time.perf_counter() - started:.1f} s")
    _warm_up()
    prepared = ctx.state[key] = (district, admin, path, info)
    if not ctx.keep:
        ctx.state.setdefault("cleanups", []).append(lambda: clean_people(district))
    return prepared


def _warm_up() -> None:
    """Load what both sides use (key derivation, calamine, the ORM's model caches) before timing either."""
    from core.crypto import decrypt, digest, encrypt
    from people.models import Guardian, Student

    decrypt(encrypt(digest("warm-up")))
    Student.objects.exists()
    Guardian.objects.exists()


def _import(path: Path, district, admin, log):
    from roster import services

    phases: dict[str, float] = {}

    def progress(phase: str, done: int, total: int) -> None:
        phases.setdefault(phase, time.perf_counter())

    started, cpu = time.perf_counter(), time.process_time()
    imp, _job = services.import_file(path_or_file=str(path), fmt="xlsx", user=admin, district=district, progress=progress, source="bench")
    elapsed = time.perf_counter() - started
    phases["cpu"] = time.process_time() - cpu
    if imp.problems:
        raise RuntimeError(f"the generated file has {len(imp.problems)} problems, first: {imp.problems[0]}")
    cpu = phases.pop("cpu")
    marks = sorted(phases.items(), key=lambda kv: kv[1]) + [("end", started + elapsed)]
    split = ", ".join(f"{name} {marks[i + 1][1] - at:.2f} s" for i, (name, at) in enumerate(marks[:-1]))
    split += f" (this process's CPU {cpu:.2f} s; the rest is the database and waiting)"
    return imp, elapsed, split


def _is_loaded(district, info) -> bool:
    from people.models import Guardianship, Student

    return (Student.objects.filter(district=district).count() == info["students"]
            and Guardianship.objects.filter(student__district=district).count() == info["guardian_rows"])


@scenario("roster-import", "validate and commit a generated roster XLSX (N students, 1.8·N guardian rows)")
def roster_import(ctx: Context) -> Result:
    district, admin, path, info = _prepare(ctx)
    clean_people(district)
    started, cpu = time.perf_counter(), time.process_time()
    floor_counts = floor_insert(path, district)
    floor = time.perf_counter() - started
    ctx.log(f"floor (read + bulk insert, no validation): {floor:.2f} s (CPU {time.process_time() - cpu:.2f} s) {floor_counts}")
    clean_people(district)
    imp, elapsed, split = _import(path, district, admin, ctx.log)
    c = imp.counts
    expected = (info["students"], info["guardian_rows"])
    got = (c["students"]["created"], c["guardianships"]["created"])
    if got != expected:
        raise RuntimeError(f"import created {got}, expected {expected}")
    return Result("roster-import", elapsed, "s", floor, details={
        "import phases": split,
        "created": f"students {c['students']['created']}, guardians {c['guardians']['created']}, "
                   f"guardianships {c['guardianships']['created']}, households {c.get('households_created', 0)}",
        "floor rows": f"students {floor_counts['students']}, guardians {floor_counts['guardians']}, "
                      f"guardianships {floor_counts['guardianships']}, households {floor_counts['households']}",
    })


@scenario("roster-reimport", "import the same roster file again: 0 rows changed")
def roster_reimport(ctx: Context) -> Result:
    district, admin, path, info = _prepare(ctx)
    if not _is_loaded(district, info):
        clean_people(district)
        _import(path, district, admin, ctx.log)
    started = time.perf_counter()
    fetched = floor_fetch(path, district)
    floor = time.perf_counter() - started
    ctx.log(f"floor (read + fetch stored rows by key): {floor:.2f} s {fetched}")
    imp, elapsed, split = _import(path, district, admin, ctx.log)
    c = imp.counts
    changed = sum(c[k]["created"] + c[k]["updated"] for k in ("students", "guardians", "guardianships"))
    if changed:
        raise RuntimeError(f"re-import changed {changed} rows: {c}")
    return Result("roster-reimport", elapsed, "s", floor, details={
        "import phases": split,
        "unchanged": f"students {c['students']['unchanged']}, guardians {c['guardians']['unchanged']}, "
                     f"guardianships {c['guardianships']['unchanged']}; rows changed: {changed}",
    })
