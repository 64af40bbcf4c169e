from ninja import Router, Schema

from org.models import OrgUnit

router = Router(tags=["组织"])


class UnitOut(Schema):
    id: int
    kind: str
    name: str
    parent_id: int | None
    stage: str
    depth: int


@router.get("/units", response=list[UnitOut], summary="我范围内的组织单元")
def units(request):
    return list(OrgUnit.objects.visible_to(request.user).order_by("path")[:2000])
