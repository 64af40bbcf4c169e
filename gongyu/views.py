from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render

from core.scoping import get_scope


def healthz(request):
    """For load balancers: the process answers and the database is reachable. Reveals nothing else."""
    with connection.cursor() as cur:
        cur.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@login_required
def home(request):
    scope = get_scope(request.user)
    staff_roles = scope.role_names - {"guardian"}
    if scope.guardian_id and not staff_roles:
        return redirect("people:family")
    return render(request, "home.html", {"scope": scope})
