"""The ledger's own page: a certificate (its URL stays under the parent school, courses/urls.py)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from core.scoping import fetch_for
from ledger.models import Certificate


@login_required
def certificate(request, pk):
    cert = fetch_for(request.user, Certificate.objects.select_related("guardian", "period"), pk)
    return render(request, "courses/certificate.html", {"cert": cert})
