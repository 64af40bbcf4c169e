"""Abstract models shared by several apps (no tables of their own)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class GuardianRating(models.Model):
    """A guardian's 1–5 stars and comment on something they took part in (an activity, a course).
    Subclasses add the rated object's foreign key and their Meta (names, the once-per-guardian constraint)."""

    guardian = models.ForeignKey("people.Guardian", on_delete=models.PROTECT, related_name="+")
    district = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    stars = models.PositiveSmallIntegerField(_("评分"))
    comment = models.TextField(_("评价"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    @staticmethod
    def stars_range(name: str) -> models.CheckConstraint:
        return models.CheckConstraint(condition=models.Q(stars__gte=1, stars__lte=5), name=name)
