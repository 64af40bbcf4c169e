"""Outbox handlers of the activities module (the jobs app finds them here)."""

from contextlib import nullcontext

from django.db import transaction
from django.utils import translation

from activities import services
from activities.models import Activity
from jobs.services import complete, register


@register(services.ANNOUNCE)
def announce_activity(job) -> None:
    activity_id = job.payload["activity"]
    language = Activity.objects.filter(pk=activity_id).values_list("created_by__language", flat=True).first()
    # The notice is written in the organiser's language, as it was when it went out from their request.
    with translation.override(language) if language else nullcontext(), transaction.atomic():
        services.announce(activity_id=activity_id)
        # The notice and the job's completion commit together: a rerun after a crash finds the job done.
        complete(job)
