from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from org.models import OrgUnit


@login_required
def tree(request):
    units = OrgUnit.objects.visible_to(request.user).order_by("path")
    return render(request, "org/tree.html", {"units": units})
