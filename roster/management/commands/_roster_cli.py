"""What import_roster and export_roster share: who runs the command and where it applies."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from accounts.backends import normalise_phone
from core.scoping import get_scope
from org.models import Kind, OrgUnit


def acting_user(phone: str | None):
    """The user named by --as (their scope applies), or None for the system (every district)."""
    if not phone:
        return None
    from accounts.models import User

    user = User.objects.filter(phone=normalise_phone(phone), is_active=True).first()
    if user is None:
        raise CommandError(_("找不到手机号为该值的有效账号（--as）。"))
    return user


def resolve_place(*, user, school_code: str | None, district_code: str | None) -> tuple[OrgUnit, OrgUnit | None]:
    """(district, school or None) from --district / --school, or from the acting user's scope."""
    district = None
    if district_code:
        found = list(OrgUnit.objects.filter(kind=Kind.DISTRICT, code=district_code))
        if len(found) != 1:
            raise CommandError(_("找不到代码为“%(code)s”的区县（--district）。") % {"code": district_code})
        district = found[0]
    school = None
    if school_code:
        qs = OrgUnit.objects.filter(kind=Kind.SCHOOL, code=school_code)
        if district is not None:
            qs = qs.filter(district=district)
        if user is not None:
            qs = qs & OrgUnit.objects.visible_to(user)
        found = list(qs)
        if not found:
            raise CommandError(_("找不到学校标识码为“%(code)s”的学校（--school），或您无权访问该学校。") % {"code": school_code})
        if len(found) > 1:
            raise CommandError(_("多个区县都有学校标识码“%(code)s”，请同时用 --district 指定区县。") % {"code": school_code})
        school = found[0]
        district = OrgUnit.objects.get(pk=school.district_id)
    if district is None:
        ids = sorted(get_scope(user).district_ids) if user is not None else []
        if user is None:
            ids = list(OrgUnit.objects.filter(kind=Kind.DISTRICT).values_list("id", flat=True)[:2])
        if len(ids) != 1:
            raise CommandError(_("请用 --district 或 --school 指定要导入/导出的区县或学校。"))
        district = OrgUnit.objects.get(pk=ids[0])
    return district, school
