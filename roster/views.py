"""Roster pages: import (upload → background validation → preview with problems → commit) and export.

Jobs are fetched with fetch_for (another user's job answers 404); exports go through the scoping layer
and the people.view flag; every write is a roster.services call."""

from __future__ import annotations

import csv
import io
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.perms import require
from core.scoping import fetch_for
from org.models import OrgUnit
from people.perms import VIEW as PEOPLE_VIEW
from roster import exporter, selectors, services, spec
from roster.forms import ExportForm, UploadForm
from roster.models import ImportJob, JobStatus

RECENT_JOBS = 20


def _targets_or_403(user):
    targets = services.import_targets(user)
    if not targets:
        raise PermissionDenied
    return targets


@login_required
@require_http_methods(["GET", "POST"])
def import_home(request):
    targets = _targets_or_403(request.user)
    form = UploadForm(request.POST or None, request.FILES or None, targets=targets)
    if request.method == "POST" and form.is_valid():
        try:
            job = services.job_create(user=request.user, upload=form.cleaned_data["file"], target=form.cleaned_data["target"])
        except ValidationError as exc:
            form.add_error("file", exc)
        else:
            return redirect("roster:job", pk=job.pk)
    jobs = selectors.jobs_for(request.user)[:RECENT_JOBS]
    return render(request, "roster/import_home.html", {"form": form, "jobs": jobs, "rules": spec.RULES})


@login_required
@require_GET
def template_download(request):
    out = io.BytesIO()
    exporter.write_template(out)
    out.seek(0)
    return FileResponse(out, as_attachment=True, filename="学生及监护人花名册导入模板.xlsx", content_type=exporter.XLSX_CONTENT_TYPE)


@login_required
@require_GET
def job_detail(request, pk):
    job = fetch_for(request.user, selectors.jobs_for(request.user), pk)
    page, facets = selectors.problems_page(
        job, sheet=request.GET.get("sheet", "")[:60], column=request.GET.get("column", "")[:60],
        code=request.GET.get("code", "")[:40], page=request.GET.get("page") or 1,
    )
    filters = {k: request.GET.get(k, "") for k in ("sheet", "column", "code")}
    return render(request, "roster/job_detail.html", {
        "job": job, "page": page, "facets": facets, "filters": filters,
        "filter_query": urlencode({k: v for k, v in filters.items() if v}),
        "counts": job.counts or {}, "JobStatus": JobStatus,
    })


@login_required
@require_GET
def job_progress(request, pk):
    """HTMX partial polled every second while the job runs; when it stops running the page reloads."""
    job = fetch_for(request.user, ImportJob, pk)
    response = render(request, "roster/_job_progress.html", {"job": job})
    if not job.is_running and request.htmx:
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_POST
def job_commit(request, pk):
    job = fetch_for(request.user, ImportJob, pk)
    try:
        services.job_request_commit(user=request.user, job=job)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("roster:job", pk=job.pk)


@login_required
@require_POST
def job_discard(request, pk):
    job = fetch_for(request.user, ImportJob, pk)
    try:
        services.job_discard(user=request.user, job=job)
        messages.info(request, _("已放弃本次导入，上传的文件已删除。"))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("roster:home")


@login_required
@require_GET
def job_problems_csv(request, pk):
    """The whole problem list as a CSV that opens in Excel, to work through next to the file."""
    job = fetch_for(request.user, ImportJob, pk)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("工作表"), _("行"), _("列"), _("问题代码"), _("说明")])
    for p in job.problems.order_by("sheet", "row", "id"):
        writer.writerow([exporter.csv_safe(p.sheet), p.row, exporter.csv_safe(p.column), p.code, exporter.csv_safe(p.message)])
    response = HttpResponse(out.getvalue().encode("utf-8-sig"), content_type=exporter.CSV_CONTENT_TYPE)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''import-{job.pk}-problems.csv"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def export(request):
    roots = selectors.export_roots(request.user)
    if not roots:
        raise PermissionDenied
    form = ExportForm(request.POST or None, initial={"scope": roots[0].pk, "format": "xlsx"})
    if request.method == "POST" and form.is_valid():
        unit = fetch_for(request.user, OrgUnit, form.unit_id())
        require(request.user, PEOPLE_VIEW, unit)
        fmt = form.cleaned_data["format"]
        out = io.BytesIO()
        services.export_roster(user=request.user, unit=unit, fmt=fmt, out=out)
        out.seek(0)
        content_type = exporter.CSV_CONTENT_TYPE if fmt == "csv" else exporter.XLSX_CONTENT_TYPE
        return FileResponse(out, as_attachment=True, filename=services.export_filename(unit, fmt), content_type=content_type)
    selected = form["scope"].value() or roots[0].pk
    parts = _parts_for(request.user, selected)
    return render(request, "roster/export.html", {"form": form, "roots": roots, "parts": parts, "selected": str(selected)})


def _parts_for(user, unit_id):
    try:
        unit = fetch_for(user, OrgUnit, int(unit_id))
    except (TypeError, ValueError):
        return []
    return selectors.export_parts(user, unit)


@login_required
@require_GET
def export_parts(request):
    """HTMX partial: the grades and classes of the chosen school."""
    parts = _parts_for(request.user, request.GET.get("scope"))
    return render(request, "roster/_export_parts.html", {"parts": parts})
