"""Consent records: give, withdraw and ask whether a guardian's consent is in force.

A withdrawal keeps its row (withdrawn_at): the history of who agreed to what, under which rules, is
evidence (PIPL art. 13–17). At most one consent is in force per (guardian, student, purpose).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import current_actor
from core.perms import can
from core.scoping import get_scope
from people.models import Consent, ConsentPurpose, Guardian, Guardianship, Student
from people.perms import MANAGE


def consent_give(*, guardian: Guardian, purpose: str, rules_version: str, student: Student | None = None, channel: str = "web") -> Consent:
    """Record the guardian's consent. Idempotent for the same rules version; a newer version replaces
    the consent in force (the old row is closed, not changed otherwise)."""
    if purpose not in ConsentPurpose.values:
        raise ValidationError(_("未知的同意用途。"), code="consent_purpose")
    if not rules_version:
        raise ValidationError(_("缺少规则版本。"), code="consent_version")
    if student is not None and not Guardianship.objects.system(reason="consent only for one's own child").filter(guardian=guardian, student=student).exists():
        raise ValidationError(_("只能为自己监护的孩子作出同意。"), code="consent_not_guardian")
    with transaction.atomic():
        # Lock the guardian row: the unique constraint does not cover student=NULL (NULLs are distinct),
        # so concurrent gives are serialised here instead.
        Guardian.objects.system(reason="locks the consenting guardian").select_for_update().filter(pk=guardian.pk).values_list("pk").first()
        current = _in_force_qs(guardian=guardian, purpose=purpose, student=student).first()
        if current is not None:
            if current.rules_version == rules_version:
                return current
            current.withdrawn_at = timezone.now()
            current.save(update_fields=["withdrawn_at"])
        return Consent.objects.create(
            district_id=guardian.district_id,
            guardian=guardian,
            student=student,
            purpose=purpose,
            rules_version=rules_version,
            given_at=timezone.now(),
            channel=channel[:16],
        )


def consent_withdraw(*, actor, consent: Consent) -> Consent:
    """Withdraw an optional consent. The platform consent cannot be withdrawn on its own: that means
    closing the account, which the school or district does."""
    if consent.purpose == ConsentPurpose.PLATFORM:
        raise ValidationError(
            _("使用平台的基础同意不能单独撤回。如需停止使用平台，请联系学校申请注销账号。"), code="consent_platform"
        )
    if not _may_withdraw(actor, consent):
        raise PermissionDenied
    with transaction.atomic():
        locked = Consent.objects.system(reason="a withdrawal the actor may make, checked above").select_for_update().get(pk=consent.pk)
        locked._audit_actor = actor if actor is not None else current_actor()
        if locked.withdrawn_at is None:
            locked.withdrawn_at = timezone.now()
            locked.save(update_fields=["withdrawn_at"])
    consent.withdrawn_at = locked.withdrawn_at
    return locked


def consent_in_force(*, guardian: Guardian, purpose: str, student: Student | None = None) -> bool:
    """Is there a consent in force? For a student, a guardian-wide consent (student empty) also counts."""
    qs = Consent.objects.system(reason="the guardian's own consents").in_force().filter(guardian=guardian, purpose=purpose)
    if student is None:
        return qs.filter(student__isnull=True).exists()
    return qs.filter(models.Q(student=student) | models.Q(student__isnull=True)).exists()


def _in_force_qs(*, guardian, purpose, student):
    qs = Consent.objects.system(reason="the guardian's own consents").in_force().filter(guardian=guardian, purpose=purpose)
    return qs.filter(student__isnull=True) if student is None else qs.filter(student=student)


def _may_withdraw(actor, consent: Consent) -> bool:
    """The guardian themselves, or staff who manage one of the guardian's children (a paper withdrawal)."""
    if actor is None:  # system jobs and management commands
        return True
    if not Consent.objects.visible_to(actor).filter(pk=consent.pk).exists():
        return False
    if Guardian.objects.system(reason="is the consent the actor's own").filter(pk=consent.guardian_id, user=actor).exists():
        return True
    scope = get_scope(actor)
    children = Student.objects.visible_to(actor).filter(guardianships__guardian_id=consent.guardian_id)
    if consent.student_id:
        children = children.filter(pk=consent.student_id)
    return any(can(scope, MANAGE, child) for child in children.select_related("school_class"))
