"""Organisation units and classes for the mobile client. Every read starts from visible_to(user)."""

from django.db.models import IntegerField, Subquery, Value
from django.db.models.functions import Coalesce
from ninja import Field, Path, Query, Router, Schema
from ninja.pagination import paginate

from core.api import MAX_ID, Pagination
from core.modules import provider
from core.perms import can_provided
from core.scoping import get_scope, prefix_q
from org import selectors
from org.models import Kind, OrgUnit, PartnerCategory, Stage
from org.perms import INVITE_SLOT

router = Router(tags=["组织"])


class UnitOut(Schema):
    id: int
    kind: Kind
    kind_label: str
    name: str
    parent_id: int | None
    stage: Stage | None
    depth: int
    is_active: bool

    @staticmethod
    def resolve_kind_label(obj) -> str:
        return str(Kind(obj.kind).label)

    @staticmethod
    def resolve_stage(obj):
        return obj.stage or None


class UnitRef(Schema):
    id: int
    name: str
    kind: Kind


class UnitDetailOut(UnitOut):
    code: str
    address: str
    grade_year: int | None
    class_no: int | None
    entry_year: int | None
    partner_category: PartnerCategory | None
    ancestors: list[UnitRef] = Field(description="从区县到上级单位，仅含您范围内的单位")
    children_count: int = Field(description="您范围内的直属下级单位数")
    invite_code: str | None = Field(None, description="班级邀请码，仅对有权重置邀请码的教师和管理员显示")

    @staticmethod
    def resolve_partner_category(obj):
        return obj.partner_category or None

    @staticmethod
    def resolve_ancestors(obj):
        return obj.api_ancestors

    @staticmethod
    def resolve_invite_code(obj):
        return obj.api_invite_code


class UnitFilter(Schema):
    kind: Kind | None = Field(None, description="只列出该类型的单位")
    parent: int | None = Field(None, ge=1, le=MAX_ID, description="只列出该单位的直属下级")


@router.get("/units", response=list[UnitOut], summary="我范围内的组织单元（可按类型、上级筛选）")
@paginate(Pagination)
def units(request, filters: Query[UnitFilter]):
    qs = OrgUnit.objects.visible_to(request.user).filter(is_active=True)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.parent is not None:
        # The parent must itself be visible: a hidden unit's children answer 404, not an empty page.
        parent = selectors.get_unit_for(request.user, filters.parent)
        qs = qs.filter(parent=parent)
    return qs.order_by("path")


@router.get("/units/{unit_id}", response=UnitDetailOut, summary="组织单元详情")
def unit_detail(request, unit_id: int = Path(..., ge=1, le=MAX_ID)):
    user = request.user
    unit = selectors.get_unit_for(user, unit_id)
    visible = OrgUnit.objects.visible_to(user)
    ancestors = list(visible.filter(id__in=unit.ancestor_ids).order_by("depth").only("id", "name", "kind"))
    children_count = visible.filter(parent=unit, is_active=True).count()
    # Only those who may reset the code hand it out; others do not get it.
    can_invite = unit.kind == Kind.CLASS and can_provided(user, INVITE_SLOT, unit)
    unit.api_ancestors = ancestors
    unit.children_count = children_count
    unit.api_invite_code = unit.invite_code if can_invite else None
    return unit


class Ref(Schema):
    id: int
    name: str


class ClassOut(Schema):
    id: int
    name: str
    school: Ref
    grade: Ref
    my_roles: list[str] = Field(description="您在该班担任的角色，如 class_teacher、subject_teacher")
    student_count: int = Field(description="在读学生数")
    activated_guardians: int = Field(description="已激活账号的家长人数")

    @staticmethod
    def resolve_grade(obj):
        return obj.parent

    @staticmethod
    def resolve_school(obj):
        return obj.parent.parent

    @staticmethod
    def resolve_my_roles(obj, context):
        scope = get_scope(context["request"].user)
        return sorted({role for role, unit_id, student_id in scope.roles if unit_id == obj.id and student_id is None})


def _count(subquery):
    return Coalesce(Subquery(subquery, output_field=IntegerField()), Value(0))


@router.get("/classes", response=list[ClassOut], summary="我的班级（任教或可查看学生的班级）")
@paginate(Pagination)
def classes(request):
    scope = get_scope(request.user)
    qs = OrgUnit.objects.visible_to(request.user).filter(kind=Kind.CLASS, is_active=True)
    if not scope.superuser:
        # Classes whose students the user sees as a whole (teachers, school and district staff);
        # a guardian's or carer's single child does not make the whole class theirs.
        students_q = prefix_q("path", scope.student_prefixes)
        if students_q is None:
            return OrgUnit.objects.none()
        qs = qs.filter(students_q)
    # Counted per class in SQL, so the page costs the same queries for 2 or 2,000 students: people
    # provides the two correlated subqueries (org imports no people).
    students, activated = provider("org.class_people_subqueries")()
    return (
        qs.select_related("parent__parent")
        .annotate(student_count=_count(students), activated_guardians=_count(activated))
        .order_by("path")
    )
