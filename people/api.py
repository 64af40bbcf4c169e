"""Students and guardians for the mobile client.

Field-level rules (SECURITY.md): guardians' phone numbers are unmasked as people.contact says (the class
teacher's by default, a school admin's with ?show=phone), each unmasked answer one access row; ID numbers
and the 学籍号 ("G" + the ID number) appear only masked unless people.view_identity, and every unmasked
read writes an access-audit row. Keys that a role may not see are left out of the response entirely (not
sent as null), so a client — and a test — can check keys against an allow-list.
"""

from typing import Literal

from django.db.models import OuterRef, Prefetch, Subquery
from ninja import Field, Path, Query, Router, Schema
from ninja.pagination import paginate

from audit.services import record_access
from core.api import MAX_ID, Pagination
from core.perms import can
from core.scoping import fetch_for, get_scope
from org.models import Kind, OrgUnit
from people import contact, perms, selectors
from people.models import Gender, Guardian, Guardianship, Relation, Student

router = Router(tags=["学生与家长"])


class Ref(Schema):
    id: int
    name: str


class CoGuardianOut(Schema):
    name: str
    relation: Relation
    relation_label: str


class ChildOut(Schema):
    id: int
    name: str
    gender: Gender | None
    school: Ref
    school_class: Ref = Field(serialization_alias="class")
    relation: Relation | None = Field(description="您与孩子的关系")
    relation_label: str
    co_guardians: list[CoGuardianOut] = Field(description="孩子的其他监护人")

    @staticmethod
    def resolve_gender(obj):
        return obj.gender or None

    @staticmethod
    def resolve_relation(obj):
        return obj.my_relation

    @staticmethod
    def resolve_relation_label(obj):
        return _relation_label(obj.my_relation)

    @staticmethod
    def resolve_co_guardians(obj):
        return [
            {"name": g.guardian.name, "relation": g.relation, "relation_label": _relation_label(g.relation)}
            for g in obj.other_links
        ]


def _relation_label(value) -> str:
    return str(Relation(value).label) if value in Relation.values else ""


@router.get("/children", response=list[ChildOut], by_alias=True, summary="我的孩子（可跨学校）")
@paginate(Pagination)
def children(request):
    scope = get_scope(request.user)
    if not scope.guardian_id:
        return Student.objects.none()
    own = Guardianship.objects.filter(student=OuterRef("pk"), guardian_id=scope.guardian_id)
    others = (
        Guardianship.objects.filter(guardian__in=Guardian.objects.visible_to(request.user), guardian__is_active=True)
        .exclude(guardian_id=scope.guardian_id)
        .select_related("guardian")
        .order_by("-is_primary", "id")
    )
    return (
        Student.objects.visible_to(request.user)
        .filter(is_active=True, guardianships__guardian_id=scope.guardian_id)
        .annotate(my_relation=Subquery(own.values("relation")[:1]))
        .select_related("school", "school_class")
        .prefetch_related(Prefetch("guardianships", queryset=others, to_attr="other_links"))
        .order_by("id")
    )


class _StudentFields(Schema):
    id: int
    name: str
    gender: Gender | None
    student_no_masked: str = Field(description="学籍号（已脱敏）")
    school: Ref
    school_class: Ref = Field(serialization_alias="class")
    is_active: bool


class StudentOut(_StudentFields):
    @staticmethod
    def resolve_gender(obj):
        return obj.gender or None


class StudentFilter(Schema):
    class_id: int | None = Field(None, ge=1, le=MAX_ID, description="只列出该班级的学生")


@router.get("/students", response=list[StudentOut], by_alias=True, summary="学生名单（可按班级筛选）")
@paginate(Pagination)
def students(request, filters: Query[StudentFilter]):
    qs = Student.objects.visible_to(request.user).filter(is_active=True)
    if filters.class_id is not None:
        # A class outside the user's scope answers 404, whatever its students.
        school_class = fetch_for(request.user, OrgUnit.objects.filter(kind=Kind.CLASS), filters.class_id)
        qs = qs.filter(school_class=school_class)
    return qs.select_related("school", "school_class").order_by("school_class__path", "name", "id")


class GuardianOut(Schema):
    id: int
    name: str
    relation: Relation
    relation_label: str
    is_primary: bool
    lives_with: bool
    activated: bool = Field(description="是否已激活账号")
    phone_masked: str
    phone: str | None = Field(
        None, description="完整手机号：本班班主任直接返回；学校管理员加 ?show=phone 时返回。每次返回都记入访问审计"
    )


class StudentDetailOut(_StudentFields):
    birth_date: str | None
    id_number_masked: str = Field(description="身份证号（已脱敏）")
    id_number: str | None = Field(None, description="完整身份证号，仅对有权查看的管理员返回，每次读取都记入访问审计")
    student_no: str | None = Field(None, description="完整学籍号，仅对有权查看的管理员返回，每次读取都记入访问审计")
    guardians: list[GuardianOut]


@router.get(
    "/students/{student_id}", response=StudentDetailOut, by_alias=True, exclude_unset=True, summary="学生详情及其监护人"
)
def student_detail(
    request,
    student_id: int = Path(..., ge=1, le=MAX_ID),
    show: Literal["phone"] | None = Query(None, description="phone：请求显示完整手机号（学校管理员；记入访问审计）"),
):
    user = request.user
    student = selectors.get_student_for(user, student_id)
    links = list(
        Guardianship.objects.visible_to(user).filter(student=student, guardian__in=Guardian.objects.visible_to(user), guardian__is_active=True)
        .select_related("guardian")
        .order_by("-is_primary", "id")
    )
    phones = contact.show(user, student, reveal=show == "phone", where="API", any_phone=any(g.guardian.phone for g in links))
    guardians = []
    for link in links:
        g = link.guardian
        row = {
            "id": g.id,
            "name": g.name,
            "relation": link.relation,
            "relation_label": _relation_label(link.relation),
            "is_primary": link.is_primary,
            "lives_with": link.lives_with,
            "activated": g.user_id is not None,
            "phone_masked": g.phone_masked,
        }
        if phones.full:
            row["phone"] = g.phone
        guardians.append(row)
    out = {
        "id": student.id,
        "name": student.name,
        "gender": student.gender or None,
        "student_no_masked": student.student_no_masked,
        "school": {"id": student.school.id, "name": student.school.name},
        "school_class": {"id": student.school_class.id, "name": student.school_class.name},
        "is_active": student.is_active,
        "birth_date": student.birth_date.isoformat() if student.birth_date else None,
        "id_number_masked": student.id_number_masked,
        "guardians": guardians,
    }
    if can(user, perms.VIEW_IDENTITY, student):
        # One access row per read, whichever identity numbers it disclosed.
        out["student_no"] = student.student_no
        disclosed = "student_no"
        if student.id_number:
            out["id_number"] = student.id_number
            disclosed = "id_number student_no"
        record_access(user=user, obj=student, reason=f"api:people.student_detail {disclosed}")
    return out
