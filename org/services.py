"""Writes to the organisation tree. Each service takes the acting user and checks the scope itself."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from audit.registry import deferred_create
from core.perms import can, can_provided
from org.models import ALLOWED_CHILDREN, Kind, OrgUnit, new_invite_code
from org.perms import INVITE_SLOT, MANAGE


def _validate_placement(*, kind: str, parent: OrgUnit | None) -> None:
    if kind == Kind.DISTRICT:
        if parent is not None:
            raise ValidationError(_("区县是最上级单位，不能设置上级。"))
        return
    if parent is None:
        raise ValidationError(_("请选择上级单位。"))
    if kind not in ALLOWED_CHILDREN[Kind(parent.kind)]:
        raise ValidationError(
            _("“%(parent)s”（%(parent_kind)s）下不能添加%(kind)s。")
            % {"parent": parent.name, "parent_kind": Kind(parent.kind).label, "kind": Kind(kind).label}
        )


@transaction.atomic
def unit_create(*, actor, kind: str, name: str, parent: OrgUnit | None, **fields) -> OrgUnit:
    """Create a unit under parent. actor=None is the system (demo generator, migrations)."""
    if actor is not None and not can(actor, MANAGE, parent):
        raise PermissionDenied(_("您无权在该单位下添加组织。"))
    name = (name or "").strip()
    if not name:
        raise ValidationError(_("请填写名称。"))
    _validate_placement(kind=kind, parent=parent)
    if kind == Kind.CLASS and not fields.get("invite_code"):
        fields["invite_code"] = new_invite_code()
    unit = OrgUnit(kind=kind, name=name, parent=parent, **fields)
    unit._audit_actor = actor  # None: the system
    unit.district_id = parent.district_id if parent else None
    unit.depth = parent.depth + 1 if parent else 0
    unit.full_clean(exclude=["district", "path"])
    # The path holds the new id: insert, then set it; the one audit "create" row shows the final path.
    with deferred_create(unit):
        unit.save()
        unit.path = f"{parent.path if parent else '/'}{unit.pk}/"
        if parent is None:
            unit.district_id = unit.pk
        OrgUnit.objects.system(reason="the new unit's own path").filter(pk=unit.pk).update(path=unit.path, district_id=unit.district_id)
    return unit


@transaction.atomic
def unit_update(*, actor, unit: OrgUnit, **fields) -> OrgUnit:
    if actor is not None and not can(actor, MANAGE, unit):
        raise PermissionDenied(_("您无权修改该单位。"))
    for key in ("kind", "parent", "path", "district", "depth"):
        if key in fields:
            raise ValidationError(_("不能通过编辑修改单位的类型或位置。"))
    unit._audit_actor = actor
    for key, value in fields.items():
        setattr(unit, key, value.strip() if isinstance(value, str) else value)
    if not unit.name:
        raise ValidationError(_("请填写名称。"))
    unit.full_clean(exclude=["district", "path", "parent"])
    unit.save()
    return unit


@transaction.atomic
def unit_set_active(*, actor, unit: OrgUnit, active: bool) -> OrgUnit:
    """Units are never deleted (records refer to them); they are switched off with their subtree."""
    if actor is not None and not can(actor, MANAGE, unit):
        raise PermissionDenied(_("您无权停用该单位。"))
    if not active and unit.kind == Kind.DISTRICT:
        raise ValidationError(_("区县不能停用。"))
    for u in OrgUnit.objects.system(reason="the subtree of a unit the actor may manage").filter(path__startswith=unit.path):
        u._audit_actor = actor
        u.is_active = active
        u.save(update_fields=["is_active", "updated_at"])
    unit.refresh_from_db()
    return unit


def class_reset_invite_code(*, actor, unit: OrgUnit) -> OrgUnit:
    if actor is not None and not can_provided(actor, INVITE_SLOT, unit):
        raise PermissionDenied(_("您无权重置该班级的邀请码。"))
    unit._audit_actor = actor
    unit.invite_code = new_invite_code()
    unit.save(update_fields=["invite_code", "updated_at"])
    return unit
